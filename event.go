package agentscope

import (
	"encoding/json"
	"time"
)

// EventType names the kind of an event in a session's timeline.
type EventType string

// Event types recorded by agents, through start_run/record_event/end_run.
const (
	SessionStarted   EventType = "SessionStarted"
	ModelInvoked     EventType = "ModelInvoked"
	ModelCompleted   EventType = "ModelCompleted"
	ToolCalled       EventType = "ToolCalled"
	ToolReturned     EventType = "ToolReturned"
	CostRecorded     EventType = "CostRecorded"
	SessionCompleted EventType = "SessionCompleted"
)

// Event is one entry of a session's canonical, append-only timeline. Its JSON
// form is the wire format, the storage format and the replay format alike:
// one flat object whose fields depend on Type.
type Event struct {
	EventID      string    `json:"event_id"`
	SessionID    string    `json:"session_id"`
	Seq          int64     `json:"seq"`
	Type         EventType `json:"type"`
	TS           time.Time `json:"ts"`
	SpanID       string    `json:"span_id,omitempty"`
	ParentSpanID string    `json:"parent_span_id,omitempty"`
	Agent        string    `json:"agent,omitempty"`

	// SessionStarted / SessionCompleted.
	Input  json.RawMessage `json:"input,omitempty"`
	Status string          `json:"status,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`

	// ModelInvoked / ModelCompleted.
	Provider         string   `json:"provider,omitempty"`
	Model            string   `json:"model,omitempty"`
	DurationMS       *float64 `json:"duration_ms,omitempty"`
	TokensIn         *int64   `json:"tokens_in,omitempty"`
	TokensOut        *int64   `json:"tokens_out,omitempty"`
	CacheReadTokens  *int64   `json:"cache_read_tokens,omitempty"`
	CacheWriteTokens *int64   `json:"cache_write_tokens,omitempty"`
	ReasoningTokens  *int64   `json:"reasoning_tokens,omitempty"`
	FinishReason     string   `json:"finish_reason,omitempty"`

	// ToolCalled / ToolReturned.
	Tool      string          `json:"tool,omitempty"`
	CallID    string          `json:"call_id,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`

	// CostRecorded.
	AmountUSD *USD   `json:"amount_usd,omitempty"`
	Currency  string `json:"currency,omitempty"`
	Source    string `json:"source,omitempty"`

	// Error is the failure text of a ModelCompleted, ToolReturned or run
	// state event.
	Error string `json:"error,omitempty"`

	// Attributes holds anything else: string, json.Number or bool values.
	Attributes map[string]any `json:"attributes,omitempty"`
}

// MarshalCanonical returns the event's canonical JSON: the exact bytes that
// are stored, replayed and forwarded.
func (e *Event) MarshalCanonical() ([]byte, error) {
	e.TS = e.TS.UTC()
	if b, ok := e.appendCanonical(make([]byte, 0, 512)); ok {
		return b, nil
	}
	return json.Marshal(e) // what appendCanonical leaves to it: the same bytes, or its error
}
