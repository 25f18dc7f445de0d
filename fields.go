package agentscope

import (
	"encoding/json"
	"fmt"
	"time"
)

// FieldKind is the JSON type of an event field and the rule its value
// follows.
type FieldKind uint8

// The kinds of event fields.
const (
	// KindString is a non-empty string.
	KindString FieldKind = iota + 1
	// KindType is the name of a registered event type (type).
	KindType
	// KindSeq is the integer AgentScope assigns at commit (seq); a client
	// never sends it.
	KindSeq
	// KindTime is an RFC 3339 timestamp string, within the window
	// MinEventTime to MaxEventFuture ahead of the clock.
	KindTime
	// KindCount is an integer from 0 to the field's Max.
	KindCount
	// KindDuration is a finite number of milliseconds from 0 to the field's
	// Max.
	KindDuration
	// KindMoney is an exact decimal number of US dollars from 0 to the
	// field's Max, with at most nine decimal places.
	KindMoney
	// KindObject is a JSON object.
	KindObject
	// KindJSON is any JSON value but null.
	KindJSON
	// KindAttributes is an object of string, number or boolean values with
	// keys matching ^[A-Za-z_][A-Za-z0-9_.-]{0,127}$.
	KindAttributes
)

// EventField declares one field of an event's JSON form. The table of them
// (eventFields) is the one place the fields are written: validation, the
// MCP tools' input schema, the stored form's fast decoder and the SPL
// engine's field list are derived from it, and which types carry which
// field is in the types' EventSpecs. Adding a field is one line here, its
// member of Event, and its tests.
//
// The descriptors EventFields and LookupEventField return are shared:
// read them, never modify them.
type EventField struct {
	// Name is the field's JSON name.
	Name string
	// Kind is its JSON type and rule.
	Kind FieldKind
	// Envelope fields may be carried by every event type; the others only
	// by the types whose EventSpec lists them.
	Envelope bool
	// Max bounds a count, duration or amount, in the field's unit (tokens,
	// milliseconds, US dollars).
	Max float64
	// Enum lists the values a recording agent may send, when only some are
	// allowed. It binds the types agents send (not EventSpec.System ones).
	Enum []string
	// Check refuses a string beyond its kind's rule (the id patterns).
	Check func(string) error
	// Description is the field's meaning as the MCP tools' input schemas
	// publish it (free JSON values carry none there).
	Description string

	index int
	// ptr returns the address of the field's value in an event; its type
	// follows Kind (see Ptr).
	ptr func(*Event) any
}

// eventFields is the field table: every field of Event's JSON form. The
// session and event ids lead, the order in which ValidateEvent checks
// their patterns; the rest follow Event's order.
var eventFields = []EventField{
	{Name: "session_id", Kind: KindString, Envelope: true, Check: ValidateSessionID, Description: "the run's session id", ptr: func(e *Event) any { return &e.SessionID }},
	{Name: "event_id", Kind: KindString, Envelope: true, Check: ValidateEventID, Description: "optional idempotency key: the same event_id twice in a session is stored once", ptr: func(e *Event) any { return &e.EventID }},
	{Name: "seq", Kind: KindSeq, Envelope: true, Description: "assigned by AgentScope at commit: strictly increasing and gap-free within a session", ptr: func(e *Event) any { return &e.Seq }},
	{Name: "type", Kind: KindType, Envelope: true, Description: "the event type; its required fields are listed in the tool description", ptr: func(e *Event) any { return &e.Type }},
	{Name: "ts", Kind: KindTime, Envelope: true, Description: "RFC 3339 time; server time when absent", ptr: func(e *Event) any { return &e.TS }},
	{Name: "span_id", Kind: KindString, Envelope: true, Description: "this step's span id", ptr: func(e *Event) any { return &e.SpanID }},
	{Name: "parent_span_id", Kind: KindString, Envelope: true, Description: "the enclosing span (a tool call's model turn)", ptr: func(e *Event) any { return &e.ParentSpanID }},
	{Name: "agent", Kind: KindString, Envelope: true, Check: ValidateAgentName, Description: "must match the run's agent if given", ptr: func(e *Event) any { return &e.Agent }},

	{Name: "input", Kind: KindJSON, ptr: func(e *Event) any { return &e.Input }},
	{Name: "status", Kind: KindString, Enum: []string{"ok", "error"}, Description: "ToolReturned status", ptr: func(e *Event) any { return &e.Status }},
	{Name: "output", Kind: KindJSON, ptr: func(e *Event) any { return &e.Output }},
	{Name: "provider", Kind: KindString, Description: "model provider, e.g. openai, anthropic", ptr: func(e *Event) any { return &e.Provider }},
	{Name: "model", Kind: KindString, Description: "model name", ptr: func(e *Event) any { return &e.Model }},
	{Name: "duration_ms", Kind: KindDuration, Max: MaxDurationMS, Description: "duration in milliseconds", ptr: func(e *Event) any { return &e.DurationMS }},
	{Name: "tokens_in", Kind: KindCount, Max: float64(MaxTokens), Description: "input tokens, including cached ones", ptr: func(e *Event) any { return &e.TokensIn }},
	{Name: "tokens_out", Kind: KindCount, Max: float64(MaxTokens), Description: "output tokens", ptr: func(e *Event) any { return &e.TokensOut }},
	{Name: "cache_read_tokens", Kind: KindCount, Max: float64(MaxTokens), Description: "part of tokens_in read from the prompt cache", ptr: func(e *Event) any { return &e.CacheReadTokens }},
	{Name: "cache_write_tokens", Kind: KindCount, Max: float64(MaxTokens), Description: "part of tokens_in written to the prompt cache", ptr: func(e *Event) any { return &e.CacheWriteTokens }},
	{Name: "reasoning_tokens", Kind: KindCount, Max: float64(MaxTokens), Description: "reasoning tokens", ptr: func(e *Event) any { return &e.ReasoningTokens }},
	{Name: "finish_reason", Kind: KindString, Description: "why the model stopped", ptr: func(e *Event) any { return &e.FinishReason }},
	{Name: "tool", Kind: KindString, Description: "tool name", ptr: func(e *Event) any { return &e.Tool }},
	{Name: "call_id", Kind: KindString, Description: "the tool call's id, shared by ToolCalled and ToolReturned", ptr: func(e *Event) any { return &e.CallID }},
	{Name: "arguments", Kind: KindObject, Description: "tool arguments", ptr: func(e *Event) any { return &e.Arguments }},
	{Name: "result", Kind: KindJSON, ptr: func(e *Event) any { return &e.Result }},
	{Name: "amount_usd", Kind: KindMoney, Max: float64(MaxEventUSD / NanosPerUSD), Description: "cost in US dollars", ptr: func(e *Event) any { return &e.AmountUSD }},
	{Name: "currency", Kind: KindString, Description: "USD", ptr: func(e *Event) any { return &e.Currency }},
	{Name: "source", Kind: KindString, Description: "where a cost figure came from", ptr: func(e *Event) any { return &e.Source }},
	{Name: "error", Kind: KindString, Description: "error text", ptr: func(e *Event) any { return &e.Error }},
	{Name: "attributes", Kind: KindAttributes, Envelope: true, Description: "anything else: string, number or boolean values", ptr: func(e *Event) any { return &e.Attributes }},
}

// EventFields returns the field table, in its order; a field's Index is
// its position.
func EventFields() []*EventField {
	fs := make([]*EventField, len(eventFields))
	for i := range eventFields {
		fs[i] = &eventFields[i]
	}
	return fs
}

// LookupEventField returns the field named name. It is meant for the hot
// paths that meet names in JSON keys and queries: it looks in a table
// built once, with no map and no allocation.
func LookupEventField[S ~string | ~[]byte](name S) (*EventField, bool) {
	n := len(name)
	if n == 0 {
		return nil, false
	}
	for i := fieldSlot(n, name[0], name[n-1]); ; i = (i + 1) % uint(len(fieldSlots)) {
		s := fieldSlots[i]
		if s == 0 {
			return nil, false
		}
		if f := &eventFields[s-1]; f.Name == string(name) {
			return f, true
		}
	}
}

// fieldSlots is an open-addressed hash table of the field table: slot
// fieldSlot(name) onwards holds 1 + the field's index, 0 ends the probe.
var fieldSlots = indexEventFields()

// MaxEventFields is how many fields the table may hold: stores and the
// SPL engine keep sets of fields as bits of a uint64.
const MaxEventFields = 64

func fieldSlot(n int, first, last byte) uint {
	h := uint32(n)<<16 | uint32(first)<<8 | uint32(last)
	return uint((h * 0x9E3779B1) >> 25) // the top 7 bits: 128 slots
}

// indexEventFields numbers the fields, checks that each points at a member
// of Event of its kind's Go type, and builds fieldSlots.
func indexEventFields() (slots [128]uint8) {
	if len(eventFields) > MaxEventFields {
		panic(fmt.Sprintf("agentscope: %d event fields, more than %d", len(eventFields), MaxEventFields))
	}
	seen := map[string]bool{}
	for i := range eventFields {
		f := &eventFields[i]
		f.index = i
		if !f.Kind.holds(f.ptr(&Event{})) {
			panic(fmt.Sprintf("agentscope: event field %s: its member of Event is %T, not of kind %d", f.Name, f.ptr(&Event{}), f.Kind))
		}
		if seen[f.Name] {
			panic("agentscope: event field declared twice: " + f.Name)
		}
		seen[f.Name] = true
		j := fieldSlot(len(f.Name), f.Name[0], f.Name[len(f.Name)-1])
		for slots[j] != 0 {
			j = (j + 1) % uint(len(slots))
		}
		slots[j] = uint8(i + 1)
	}
	return slots
}

// holds reports whether p, a field's address, has the Go type of kind k.
func (k FieldKind) holds(p any) bool {
	switch p.(type) {
	case *string:
		return k == KindString
	case *EventType:
		return k == KindType
	case *int64:
		return k == KindSeq
	case *time.Time:
		return k == KindTime
	case **int64:
		return k == KindCount
	case **float64:
		return k == KindDuration
	case **USD:
		return k == KindMoney
	case *json.RawMessage:
		return k == KindObject || k == KindJSON
	case *map[string]any:
		return k == KindAttributes
	}
	return false
}

// Index returns the field's position in the table (EventFields), below
// MaxEventFields.
func (f *EventField) Index() int { return f.index }

// Ptr returns the address of the field's value in e. Its type follows
// Kind: *string (KindString), *EventType (KindType), *int64 (KindSeq),
// *time.Time (KindTime), **int64 (KindCount), **float64 (KindDuration),
// **USD (KindMoney), *json.RawMessage (KindObject, KindJSON) or
// *map[string]any (KindAttributes).
func (f *EventField) Ptr(e *Event) any { return f.ptr(e) }

// IsSet reports whether e carries the field: a non-empty string or JSON
// value, a non-nil number, a non-zero time or seq.
func (f *EventField) IsSet(e *Event) bool {
	switch p := f.ptr(e).(type) {
	case *string:
		return *p != ""
	case *EventType:
		return *p != ""
	case *int64:
		return *p != 0
	case *time.Time:
		return !p.IsZero()
	case **int64:
		return *p != nil
	case **float64:
		return *p != nil
	case **USD:
		return *p != nil
	case *json.RawMessage:
		return len(*p) > 0
	case *map[string]any:
		return len(*p) > 0
	}
	return false
}
