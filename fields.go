package agentscope

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unsafe"
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
	// offset is where the member of Event with this JSON name lies in an
	// Event, found by indexEventFields.
	offset uintptr
}

// eventFields is the field table: every field of Event's JSON form, each
// bound to the member of Event with its JSON name (a member without a
// line here, or a line without a member of its kind's Go type, stops the
// program at initialisation). The session and event ids lead, the order
// in which ValidateEvent checks their patterns; the rest follow Event's
// order.
var eventFields = []EventField{
	{Name: "session_id", Kind: KindString, Envelope: true, Check: ValidateSessionID, Description: "the run's session id"},
	{Name: "event_id", Kind: KindString, Envelope: true, Check: ValidateEventID, Description: "optional idempotency key: the same event_id twice in a session is stored once"},
	{Name: "seq", Kind: KindSeq, Envelope: true, Description: "assigned by AgentScope at commit: strictly increasing and gap-free within a session"},
	{Name: "type", Kind: KindType, Envelope: true, Description: "the event type; its required fields are listed in the tool description"},
	{Name: "ts", Kind: KindTime, Envelope: true, Description: "RFC 3339 time; server time when absent"},
	{Name: "span_id", Kind: KindString, Envelope: true, Description: "this step's span id"},
	{Name: "parent_span_id", Kind: KindString, Envelope: true, Description: "the enclosing span (a tool call's model turn)"},
	{Name: "agent", Kind: KindString, Envelope: true, Check: ValidateAgentName, Description: "must match the run's agent if given"},

	{Name: "input", Kind: KindJSON},
	{Name: "status", Kind: KindString, Enum: []string{"ok", "error"}, Description: "ToolReturned status"},
	{Name: "output", Kind: KindJSON},
	{Name: "provider", Kind: KindString, Description: "model provider, e.g. openai, anthropic"},
	{Name: "model", Kind: KindString, Description: "model name"},
	{Name: "duration_ms", Kind: KindDuration, Max: MaxDurationMS, Description: "duration in milliseconds"},
	{Name: "tokens_in", Kind: KindCount, Max: float64(MaxTokens), Description: "input tokens, including cached ones"},
	{Name: "tokens_out", Kind: KindCount, Max: float64(MaxTokens), Description: "output tokens"},
	{Name: "cache_read_tokens", Kind: KindCount, Max: float64(MaxTokens), Description: "part of tokens_in read from the prompt cache"},
	{Name: "cache_write_tokens", Kind: KindCount, Max: float64(MaxTokens), Description: "part of tokens_in written to the prompt cache"},
	{Name: "reasoning_tokens", Kind: KindCount, Max: float64(MaxTokens), Description: "reasoning tokens"},
	{Name: "finish_reason", Kind: KindString, Description: "why the model stopped"},
	{Name: "tool", Kind: KindString, Description: "tool name"},
	{Name: "call_id", Kind: KindString, Description: "the tool call's id, shared by ToolCalled and ToolReturned"},
	{Name: "arguments", Kind: KindObject, Description: "tool arguments"},
	{Name: "result", Kind: KindJSON},
	{Name: "amount_usd", Kind: KindMoney, Max: float64(MaxEventUSD / NanosPerUSD), Description: "cost in US dollars"},
	{Name: "currency", Kind: KindString, Description: "USD"},
	{Name: "source", Kind: KindString, Description: "where a cost figure came from"},
	{Name: "error", Kind: KindString, Description: "error text"},
	{Name: "attributes", Kind: KindAttributes, Envelope: true, Description: "anything else: string, number or boolean values"},
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

// MaxEventFields is how many fields the table may hold: validation (the
// fields a type allows) and the stores (the fields a scan decodes) keep
// sets of fields as bits of a uint64.
const MaxEventFields = 64

func fieldSlot(n int, first, last byte) uint {
	h := uint32(n)<<16 | uint32(first)<<8 | uint32(last)
	return uint((h * 0x9E3779B1) >> 25) // the top 7 bits: 128 slots
}

// indexEventFields numbers the fields, binds each to its member of Event,
// and builds fieldSlots.
func indexEventFields() (slots [128]uint8) {
	if len(eventFields) > MaxEventFields {
		panic(fmt.Sprintf("agentscope: %d event fields, more than %d", len(eventFields), MaxEventFields))
	}
	members := map[string]reflect.StructField{}
	for _, m := range reflect.VisibleFields(reflect.TypeFor[Event]()) {
		if name, _, _ := strings.Cut(m.Tag.Get("json"), ","); name != "" && name != "-" {
			members[name] = m
		}
	}
	for i := range eventFields {
		f := &eventFields[i]
		m, ok := members[f.Name]
		if !ok {
			panic("agentscope: event field " + f.Name + " is not a member of Event, or is declared twice")
		}
		if want := kindTypes[f.Kind]; m.Type != want {
			panic(fmt.Sprintf("agentscope: event field %s: Event.%s is a %s, kind %d needs a %v", f.Name, m.Name, m.Type, f.Kind, want))
		}
		delete(members, f.Name)
		f.index, f.offset = i, m.Offset
		j := fieldSlot(len(f.Name), f.Name[0], f.Name[len(f.Name)-1])
		for slots[j] != 0 {
			j = (j + 1) % uint(len(slots))
		}
		slots[j] = uint8(i + 1)
	}
	for name, m := range members {
		panic("agentscope: Event." + m.Name + " (" + name + ") is not in the field table")
	}
	return slots
}

// kindTypes is the Go type of each kind's member of Event.
var kindTypes = map[FieldKind]reflect.Type{
	KindString:     reflect.TypeFor[string](),
	KindType:       reflect.TypeFor[EventType](),
	KindSeq:        reflect.TypeFor[int64](),
	KindTime:       reflect.TypeFor[time.Time](),
	KindCount:      reflect.TypeFor[*int64](),
	KindDuration:   reflect.TypeFor[*float64](),
	KindMoney:      reflect.TypeFor[*USD](),
	KindObject:     reflect.TypeFor[json.RawMessage](),
	KindJSON:       reflect.TypeFor[json.RawMessage](),
	KindAttributes: reflect.TypeFor[map[string]any](),
}

// Index returns the field's position in the table (EventFields), below
// MaxEventFields.
func (f *EventField) Index() int { return f.index }

// Ptr returns the address of the field's value in e. Its type follows
// Kind: *string (KindString), *EventType (KindType), *int64 (KindSeq),
// *time.Time (KindTime), **int64 (KindCount), **float64 (KindDuration),
// **USD (KindMoney), *json.RawMessage (KindObject, KindJSON) or
// *map[string]any (KindAttributes).
//
// It is a plain function of e and the member's offset, not a closure per
// field, so an Event a caller keeps on its stack stays there.
func (f *EventField) Ptr(e *Event) any {
	p := unsafe.Add(unsafe.Pointer(e), f.offset) // the member's type was checked at initialisation
	switch f.Kind {
	case KindString:
		return (*string)(p)
	case KindType:
		return (*EventType)(p)
	case KindSeq:
		return (*int64)(p)
	case KindTime:
		return (*time.Time)(p)
	case KindCount:
		return (**int64)(p)
	case KindDuration:
		return (**float64)(p)
	case KindMoney:
		return (**USD)(p)
	case KindObject, KindJSON:
		return (*json.RawMessage)(p)
	case KindAttributes:
		return (*map[string]any)(p)
	}
	panic(fmt.Sprintf("agentscope: event field %s has no kind", f.Name))
}

// IsSet reports whether e carries the field: a non-empty string or JSON
// value, a non-nil number, a non-zero time or seq.
func (f *EventField) IsSet(e *Event) bool {
	// Read through the member's offset by kind, as Ptr does, without
	// boxing a pointer into an interface to switch on its type: validation
	// asks this of every field of every event.
	p := unsafe.Add(unsafe.Pointer(e), f.offset) // the member's type was checked at initialisation
	switch f.Kind {
	case KindString:
		return *(*string)(p) != ""
	case KindType:
		return *(*EventType)(p) != ""
	case KindSeq:
		return *(*int64)(p) != 0
	case KindTime:
		return !(*time.Time)(p).IsZero()
	case KindCount:
		return *(**int64)(p) != nil
	case KindDuration:
		return *(**float64)(p) != nil
	case KindMoney:
		return *(**USD)(p) != nil
	case KindObject, KindJSON:
		return len(*(*json.RawMessage)(p)) > 0
	case KindAttributes:
		return len(*(*map[string]any)(p)) > 0
	}
	return false
}
