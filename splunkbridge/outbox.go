package splunkbridge

import (
	"context"
	"time"

	"github.com/agentscope/agentscope"
)

// Outbox is the store's queue of pending Splunk deliveries, as the
// forwarder uses it; the store implements it for SQLite and Postgres.
// Every method that changes an entry acts only while owner holds its lease,
// so a forwarder that stalled past its lease cannot undo another's work.
type Outbox interface {
	// ClaimOutbox leases due entries to owner for lease: about limit
	// (whole rows; a row holds a run of one session's events).
	ClaimOutbox(ctx context.Context, owner string, limit int, lease time.Duration) ([]agentscope.OutboxEntry, error)
	// CompleteOutbox deletes delivered entries and returns how many.
	CompleteOutbox(ctx context.Context, owner string, refs []agentscope.OutboxRef) (int64, error)
	// RetryOutbox releases entries to be claimed again from at.
	RetryOutbox(ctx context.Context, owner string, refs []agentscope.OutboxRef, at time.Time, lastErr string) (int64, error)
	// DeadLetterOutbox moves an entry Splunk refused to dead_letters.
	DeadLetterOutbox(ctx context.Context, owner string, ref agentscope.OutboxRef, reason string) (bool, error)
	// OutboxStats reports queue depth, oldest entry and dead letters.
	OutboxStats(ctx context.Context) (agentscope.OutboxStats, error)
}
