package agentscope

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Store is the canonical event log and the runs it belongs to. Both
// store/sqlite and store/postgres implement it and pass store/storetest.
// Every method is scoped to one organisation.
type Store interface {
	// Append commits a batch of requests in one transaction where it can:
	// each request may create its run, appends events (assigning seq, and
	// answering a repeated event_id with the stored event), and may update
	// the run's status. Requests fail independently: results[i] belongs to
	// reqs[i].
	Append(ctx context.Context, reqs []AppendRequest) []AppendResult
	// GetRun returns one run, or ENOTFOUND.
	GetRun(ctx context.Context, orgID, sessionID string) (Run, error)
	// ListRuns lists runs newest first.
	ListRuns(ctx context.Context, orgID string, f RunFilter) (RunPage, error)
	// ListEvents returns a session's events in seq order, or ENOTFOUND for
	// an unknown session.
	ListEvents(ctx context.Context, orgID, sessionID string, f EventFilter) ([]Event, error)
	// ListEventBodies is ListEvents without decoding: each event's seq and
	// its canonical JSON exactly as stored, for replay.
	ListEventBodies(ctx context.Context, orgID, sessionID string, f EventFilter) ([]StoredEvent, error)
	// ScanEvents streams the organisation's events matching q, in (ts, session,
	// seq) order unless q.Unordered, in bounded batches, until fn returns
	// false or an error.
	ScanEvents(ctx context.Context, orgID string, q EventQuery, fn func([]Event) (bool, error)) error
	// GetAgent returns an agent by name, or ENOTFOUND.
	GetAgent(ctx context.Context, orgID, name string) (Agent, error)
	// ListAgents lists the organisation's agents by name.
	ListAgents(ctx context.Context, orgID string) ([]Agent, error)
	// PutAgent creates or replaces an agent.
	PutAgent(ctx context.Context, a Agent) error
	// Close releases the store's resources.
	Close() error
}

// EventQuery selects events across sessions, for search. Empty fields do not
// filter.
type EventQuery struct {
	SessionIDs []string
	Agents     []string
	Types      []EventType
	Earliest   time.Time // inclusive
	Latest     time.Time // exclusive
	BatchSize  int
	// Unordered lets the store deliver the events in any order, reading
	// them however is fastest (in storage order, with several connections
	// at once), for callers whose answer does not depend on order, such as
	// an aggregation. fn is still called from the caller's goroutine, one
	// batch at a time.
	Unordered bool
	// Fields, when not nil, names the top-level JSON fields the caller
	// reads (event_id, model, ts, attributes, …); the store may leave the
	// others of each event zero. session_id and seq are always filled.
	Fields []string
}

// AppendRequest is one caller's part of a group commit.
type AppendRequest struct {
	OrgID     string
	SessionID string
	// Start, if set, creates the run before the events are appended; the
	// request fails with ECONFLICT if the session exists.
	Start *Run
	// Events to append, validated, with event_id and ts set; seq is assigned.
	Events []Event
	// Update, if set, changes the run's status after the events.
	Update *RunUpdate
	// KeepFirst makes event ids idempotency keys of AgentScope's own
	// writers (an alert per rule and period, a report link per outcome): an
	// id already recorded keeps its first body and the repeat is answered as
	// a duplicate. Without it, as for every event a client sends, an id
	// recorded with another body is refused with ECONFLICT.
	KeepFirst bool
	// IfLastSeq, when positive, is the seq the session's last event must
	// have: the request fails with ECONFLICT, and nothing of it is written,
	// if another event was appended since the caller read the session. It
	// lets a writer decide from what it read (end_run pricing the calls no
	// reported cost covers) without a reported cost slipping in between.
	IfLastSeq int64
	// Bookkeeping marks AgentScope's own writes that must land whatever
	// the organisation's plan allows: a managed run's events, queueing and
	// ending (bounded by the plan's managed-run spend instead), the
	// sweeper's failures, alerts, investigation links. Their events count
	// in the organisation's usage but are never refused for its event
	// limit, so no run is left unable to end.
	Bookkeeping bool
	// Resume reopens a session that has ended as completed: its status
	// goes back to running and its end time is cleared, with the events
	// appended, when at least one of them is new (a retry of stored
	// events alone is answered as duplicates and reopens nothing). A
	// session that failed or was cancelled stays ended. Capture paths
	// use it for the late spans of a session ended for idleness.
	Resume bool
	// Uncounted marks AgentScope's notes about the organisation's plan
	// itself (its plan-limit alerts and their session): their events are
	// neither counted in its usage nor refused for its event limit, so an
	// alert about the limit never moves the count it reports and the
	// organisation is never billed for it. A session started Uncounted is
	// kept so: seeding the usage from the stored events leaves it out.
	Uncounted bool
}

// RunUpdate changes a run's status.
type RunUpdate struct {
	Status RunStatus
	// From lists the statuses the run may be in; empty means any
	// non-terminal status.
	From   []RunStatus
	Output json.RawMessage
	Error  string
	// At, if set, is when the change happened, for the run's started_at
	// or ended_at (an import re-creating a run as its events say); the
	// store's clock otherwise.
	At *time.Time
	// UnpricedCalls adds to the run's Run.UnpricedCalls: the model calls
	// that ending a self-reported session found no cost for.
	UnpricedCalls int64
}

// AppendResult is the outcome of one AppendRequest.
type AppendResult struct {
	// Events are the request's events as stored, in request order, with
	// seq; a repeated event_id yields the earlier stored event.
	Events []Event
	// Duplicate[i] is true where Events[i] was already stored.
	Duplicate []bool
	// Rejected, when not nil, holds the error of each event the store
	// refused while keeping the request's others (an event past the
	// organisation's plan limit, EPLANLIMIT): Events[i] is then the event
	// as sent, not stored, with no seq. Nil when every event was kept.
	Rejected []error
	// Run is the run after the request.
	Run Run
	Err error
}

// Appended returns the request's events this append added: Events less
// the duplicates and the rejected, in request order. When it added them
// all, that is Events itself, not a copy (a batch of ingest is hundreds of
// events of some 400 bytes each); appending to the result never writes
// into Events.
func (r AppendResult) Appended() []Event {
	n := 0
	for i := range r.Events {
		if !r.Duplicate[i] && (r.Rejected == nil || r.Rejected[i] == nil) {
			n++
		}
	}
	if n == len(r.Events) {
		return slices.Clip(r.Events)
	}
	evs := make([]Event, 0, n)
	for i, ev := range r.Events {
		if !r.Duplicate[i] && (r.Rejected == nil || r.Rejected[i] == nil) {
			evs = append(evs, ev)
		}
	}
	return evs
}

// StoredEvent is an event as stored: its seq and its canonical JSON. It
// marshals as that JSON.
type StoredEvent struct {
	Seq  int64
	Body json.RawMessage
}

// MarshalJSON implements json.Marshaler.
func (e StoredEvent) MarshalJSON() ([]byte, error) { return e.Body, nil }

// UnmarshalJSON implements json.Unmarshaler: it keeps the event's JSON and
// reads its seq.
func (e *StoredEvent) UnmarshalJSON(b []byte) error {
	var v struct {
		Seq int64 `json:"seq"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	e.Seq, e.Body = v.Seq, append(json.RawMessage(nil), b...)
	return nil
}
