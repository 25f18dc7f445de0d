package agentscope

import (
	"encoding/json"
	"time"
)

// The outbox holds one entry per recorded event, and one per audit log
// entry, that Splunk has not yet confirmed; the store keeps it, the Splunk
// forwarder drains it.

// OutboxEntry is one pending Splunk delivery claimed by a forwarder: one
// event of an outbox row (a row covers a run of one session's events, all
// written by one commit), or an audit log entry.
type OutboxEntry struct {
	// ID names the outbox row the entry was enqueued in; the entries of one
	// row share it, and with Seq it names the entry (Ref).
	ID        int64
	OrgID     string
	SessionID string
	Seq       int64
	// AuditID is set when the entry carries an audit log entry instead of
	// an event (SessionID is then empty): Type is its action, TS its time
	// and Body the AuditEntry's JSON. It goes to Splunk under
	// AuditSourcetype.
	AuditID string
	// Attempts counts the earlier releases of this entry for retry.
	Attempts int
	// LastError is the reason given with the last release, if any.
	LastError string
	// EventID, Type, Agent and TS describe the event.
	EventID string
	Type    string
	Agent   string
	TS      time.Time
	// Body is the event's canonical JSON exactly as stored and replayed. It
	// is nil if the event row is missing, which only a damaged database
	// produces; such an entry can only be dead-lettered.
	Body json.RawMessage
}

// OutboxRef names one claimed entry to the outbox's Complete, Retry and
// DeadLetter calls: its row's ID and its event's Seq (0 for an audit entry).
type OutboxRef struct {
	ID  int64
	Seq int64
}

// Ref returns the name of e for the outbox's calls.
func (e OutboxEntry) Ref() OutboxRef { return OutboxRef{ID: e.ID, Seq: e.Seq} }

// OutboxStats summarises the outbox for health reports.
type OutboxStats struct {
	// QueueDepth is the number of undelivered events and audit entries,
	// leased or not.
	QueueDepth int64
	// OldestCreated is when the oldest undelivered entry was enqueued; zero
	// when the outbox is empty.
	OldestCreated time.Time
	// DeadLetters is the number of entries moved to dead_letters.
	DeadLetters int64
}

// DeadLetter is an event Splunk refused and that will not be retried until
// an operator re-enqueues it.
type DeadLetter struct {
	ID        int64
	OrgID     string
	SessionID string
	Seq       int64
	// AuditID is set for an audit log entry (see OutboxEntry.AuditID).
	AuditID string
	// EventID and Type describe the event (Type: an audit entry's action);
	// empty if the event row is gone.
	EventID   string
	Type      string
	Reason    string
	CreatedAt time.Time
}
