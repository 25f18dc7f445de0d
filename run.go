package agentscope

import (
	"encoding/json"
	"time"
)

// RunStatus is the state of a run.
type RunStatus string

// Run states. A run moves queued → running → one of the terminal states.
const (
	StatusQueued    RunStatus = "queued"
	StatusRunning   RunStatus = "running"
	StatusCompleted RunStatus = "completed"
	StatusFailed    RunStatus = "failed"
	StatusCancelled RunStatus = "cancelled"
)

// Terminal reports whether s is an end state.
func (s RunStatus) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// Valid reports whether s is a known status.
func (s RunStatus) Valid() bool {
	return s == StatusQueued || s == StatusRunning || s.Terminal()
}

// Run is one execution of an agent. Its session — the ordered event
// timeline — shares its id.
type Run struct {
	OrgID     string            `json:"-"`
	SessionID string            `json:"session_id"`
	Agent     string            `json:"agent"`
	Status    RunStatus         `json:"status"`
	Managed   bool              `json:"managed"`
	Input     json.RawMessage   `json:"input,omitempty"`
	Output    json.RawMessage   `json:"output,omitempty"`
	Error     string            `json:"error,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	StartedAt *time.Time        `json:"started_at,omitempty"`
	EndedAt   *time.Time        `json:"ended_at,omitempty"`
	// EventCount is the number of events in the session (the last seq).
	EventCount int64 `json:"event_count"`
	// CostUSD is the sum of the session's CostRecorded events.
	CostUSD USD `json:"cost_usd"`
	// UnpricedCalls counts the session's model calls whose cost is
	// unknown: no cost was reported for them and the pricing table could
	// not price them, so CostUSD leaves them out (an unknown cost is not
	// $0). A managed run counts each such call as it is recorded; a
	// self-reported session when it ends, as its calls are priced.
	UnpricedCalls int64 `json:"unpriced_calls,omitempty"`
}

// RunFilter selects runs for listing, newest first.
type RunFilter struct {
	Agent  string
	Status RunStatus
	Since  time.Time
	Limit  int
	// Cursor continues a previous listing (RunPage.NextCursor).
	Cursor string
}

// RunPage is one page of a run listing.
type RunPage struct {
	Runs       []Run  `json:"runs"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// EventFilter selects a session's events for replay, in seq order.
type EventFilter struct {
	AfterSeq int64
	Types    []EventType
	Limit    int
	// MaxBytes, if positive, makes ListEventBodies stop after the first
	// event that brings the bodies' total past it (that event included, so
	// the caller knows more follow).
	MaxBytes int
}

// Org is an organisation: every row belongs to one.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// DefaultOrgID is the organisation of the single-token embedded install.
const DefaultOrgID = "default"

// AgentKind says whether AgentScope executes an agent or the agent reports
// itself.
type AgentKind string

// Agent kinds.
const (
	AgentExternal AgentKind = "external"
	AgentManaged  AgentKind = "managed"
)

// InvestigatorAgent is the name of the built-in investigator, a starter
// agent every organisation has: its runs are the investigations.
const InvestigatorAgent = "investigator"

// Agent is an agent known to an organisation by name.
type Agent struct {
	OrgID     string          `json:"-"`
	Name      string          `json:"name"`
	Kind      AgentKind       `json:"kind"`
	Spec      json.RawMessage `json:"definition,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}
