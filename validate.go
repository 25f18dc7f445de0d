package agentscope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentscope/agentscope/internal/jsonscan"
)

// DefaultMaxEventBytes is the default size limit of one event's JSON.
const DefaultMaxEventBytes = 256 << 10

// Bounds on single recorded values. They are far above anything a real model
// call reports and low enough that no sum of them a store keeps can wrap:
// a session's cost is a checked int64 of nano-dollars, token counts are
// summed in int64.
const (
	// MaxEventUSD is the largest amount_usd one event may carry.
	MaxEventUSD USD = 1_000_000 * NanosPerUSD
	// MaxTokens is the largest token count one event may carry.
	MaxTokens int64 = 1_000_000_000_000
	// MaxDurationMS is the longest duration_ms one event may carry (30 days).
	MaxDurationMS = 30 * 24 * 3600 * 1000.0
)

// The window of event timestamps: a time outside it is a sender's bug (a
// zero time, seconds read as milliseconds, a skewed clock), not an event.
var MinEventTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxEventFuture is how far past the server's clock an event's ts may be.
const MaxEventFuture = 24 * time.Hour

// validateText refuses invalid UTF-8 in an event's text and JSON fields,
// however the event was built: stores differ on such bytes (SQLite keeps
// them, Postgres refuses them), and a JSON reader would alter them.
func validateText(ev *Event) error {
	for _, f := range rules.text {
		if !utf8.ValidString(*f.Ptr(ev).(*string)) {
			return FieldErrorf(f.Name, "is not valid UTF-8")
		}
	}
	for _, f := range rules.json {
		if !utf8.Valid(*f.Ptr(ev).(*json.RawMessage)) {
			return FieldErrorf(f.Name, "is not valid UTF-8 (JSON text must be UTF-8)")
		}
	}
	for _, f := range rules.attributes {
		for k, v := range *f.Ptr(ev).(*map[string]any) {
			if s, ok := v.(string); !utf8.ValidString(k) || (ok && !utf8.ValidString(s)) {
				return FieldErrorf(f.Name, "key %q is not valid UTF-8 or has a value that is not", k)
			}
		}
	}
	return nil
}

// rules holds the field table's fields by the rule ValidateEvent applies
// to them, each list in the table's order, so that validating an event
// walks short slices and looks nothing up.
var rules = deriveRules()

type fieldRules struct {
	typed      []*EventField // not envelope: its type must allow it
	text       []*EventField // KindString
	json       []*EventField // KindObject, KindJSON
	objects    []*EventField // KindObject
	attributes []*EventField // KindAttributes
	times      []*EventField // KindTime
	checked    []*EventField // with a Check
	counts     []bound       // KindCount
	durations  []*EventField // KindDuration
	money      []bound       // KindMoney
	enums      []enumRule    // with an Enum
	envelope   uint64        // the envelope fields' bits
}

// bound is a count's or amount's Max as the Event holds it: tokens or
// nano-dollars.
type bound struct {
	f   *EventField
	max int64
}

// enumRule is a field's Enum and its text for error messages.
type enumRule struct {
	f    *EventField
	text string // "a" or "b"
}

func deriveRules() fieldRules {
	var r fieldRules
	for i := range eventFields {
		f := &eventFields[i]
		if f.Envelope {
			r.envelope |= 1 << f.index
		} else {
			r.typed = append(r.typed, f)
		}
		switch f.Kind {
		case KindString:
			r.text = append(r.text, f)
		case KindObject:
			r.json = append(r.json, f)
			r.objects = append(r.objects, f)
		case KindJSON:
			r.json = append(r.json, f)
		case KindAttributes:
			r.attributes = append(r.attributes, f)
		case KindTime:
			r.times = append(r.times, f)
		case KindCount:
			r.counts = append(r.counts, bound{f, int64(f.Max)})
		case KindDuration:
			r.durations = append(r.durations, f)
		case KindMoney:
			r.money = append(r.money, bound{f, int64(math.Round(f.Max * NanosPerUSD))})
		}
		if f.Check != nil {
			r.checked = append(r.checked, f)
		}
		if len(f.Enum) > 0 {
			quoted := make([]string, len(f.Enum))
			for i, v := range f.Enum {
				quoted[i] = strconv.Quote(v)
			}
			text := quoted[len(quoted)-1]
			if len(quoted) > 1 {
				text = strings.Join(quoted[:len(quoted)-1], ", ") + " or " + text
			}
			r.enums = append(r.enums, enumRule{f, text})
		}
	}
	return r
}

// EventSpec says which fields an event type requires and which it allows
// besides the envelope.
type EventSpec struct {
	Required []string
	Optional []string
	// System marks types that only AgentScope itself writes (start_run,
	// end_run and the runtime); record_event refuses them.
	System bool
	// AfterEnd marks annotations that may be appended to a session that has
	// ended, such as the link to an investigation's report or an alert.
	AfterEnd bool
}

// eventType is a registered type: its spec and what validation derives
// from it when it is registered.
type eventType struct {
	spec     EventSpec
	allowed  uint64        // bit i: the type may carry eventFields[i]
	required []*EventField // spec.Required's fields
}

func newEventType(spec EventSpec) *eventType {
	t := &eventType{spec: spec, allowed: rules.envelope}
	for i, name := range append(append([]string{}, spec.Required...), spec.Optional...) {
		f, ok := LookupEventField(name)
		if !ok || f.Kind == KindType || f.Kind == KindSeq {
			panic("agentscope: unknown event field " + name)
		}
		t.allowed |= 1 << f.index
		if i < len(spec.Required) {
			t.required = append(t.required, f)
		}
	}
	return t
}

// AnnotationsOnly reports whether every event in evs is of a type that may
// be appended after its session ended (EventSpec.AfterEnd).
func AnnotationsOnly(evs []Event) bool {
	for _, e := range evs {
		if t, ok := eventSpecs[e.Type]; !ok || !t.spec.AfterEnd {
			return false
		}
	}
	return len(evs) > 0
}

var eventSpecs = registerEventTypes(map[EventType]EventSpec{
	SessionStarted:   {Required: []string{"agent"}, Optional: []string{"input"}, System: true},
	ModelInvoked:     {Required: []string{"provider", "model"}, Optional: []string{"input"}},
	ModelCompleted:   {Required: []string{"provider", "model", "duration_ms", "tokens_in", "tokens_out"}, Optional: []string{"cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "finish_reason", "error", "output"}},
	ToolCalled:       {Required: []string{"tool", "call_id"}, Optional: []string{"arguments"}},
	ToolReturned:     {Required: []string{"tool", "call_id", "duration_ms", "status"}, Optional: []string{"result", "error"}},
	CostRecorded:     {Required: []string{"amount_usd"}, Optional: []string{"currency", "model", "provider", "source"}},
	SessionCompleted: {Required: []string{"status"}, Optional: []string{"output", "error"}, System: true},
})

func registerEventTypes(specs map[EventType]EventSpec) map[EventType]*eventType {
	m := make(map[EventType]*eventType, len(specs))
	for t, spec := range specs {
		m[t] = newEventType(spec)
	}
	return m
}

// RegisterEventType adds an event type to the model. It is meant for package
// initialisation only (the runtime's run-state events) and panics on a
// duplicate or an unknown field name.
func RegisterEventType(t EventType, spec EventSpec) {
	if _, ok := eventSpecs[t]; ok {
		panic("agentscope: event type registered twice: " + string(t))
	}
	eventSpecs[t] = newEventType(spec)
}

// LookupEventType returns the spec of t and whether t is a known type.
func LookupEventType(t EventType) (EventSpec, bool) {
	s, ok := eventSpecs[t]
	if !ok {
		return EventSpec{}, false
	}
	return s.spec, true
}

// EventTypes returns every known event type, sorted.
func EventTypes() []EventType {
	ts := make([]EventType, 0, len(eventSpecs))
	for t := range eventSpecs {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts
}

// DecodeEvent decodes and validates one event as a client sends it. Unknown
// fields, ill-typed values and missing required fields are rejected with an
// *Error naming the field and the rule; a value is never coerced or dropped.
// The server-assigned seq must be absent.
func DecodeEvent(data []byte) (Event, error) {
	if ev, ok := decodeEventFast(data); ok {
		return ev, nil
	}
	return decodeEventSlow(data)
}

// EventBatch is a JSON array of events split into each event's JSON,
// and decoded in the same pass where DecodeEvent's usual path takes an
// event: splitting a batch and then decoding its events scanned each
// event twice.
type EventBatch struct {
	Raw []json.RawMessage
	// events holds event i at batchSlot(i) if it has a type (a decoded
	// event always has one): in chunks of 8, 16, 32, … events, which a
	// growing slice of events would copy again and again, and which a
	// batch of one event does not make it allocate room for hundreds.
	events [][]Event
}

// batchFirst is the size of an EventBatch's first chunk (a power of two).
const batchFirst = 8

// batchSlot is where event i of a batch is: chunk c (of batchFirst<<c
// events) at offset off.
func batchSlot(i int) (c, off int) {
	j := i + batchFirst
	c = bits.Len(uint(j)) - bits.Len(batchFirst)
	return c, j - batchFirst<<c
}

// SplitEvents splits data, a JSON array with nothing but white space
// around it, into a batch; false if it is not one. It decodes no more than
// the first limit events: a batch of more is refused whole.
func SplitEvents(data []byte, limit int) (EventBatch, bool) {
	b := EventBatch{Raw: []json.RawMessage{}}
	ok := jsonscan.Elements(data, func(elem []byte, members []jsonscan.Member) {
		i := len(b.Raw)
		if c, off := batchSlot(i); i < limit {
			if off == 0 {
				b.events = append(b.events, make([]Event, batchFirst<<c))
			}
			if members != nil {
				// An event decodeMembers refuses stays the zero Event.
				b.events[c][off], _ = decodeMembers(elem, members)
			}
		}
		b.Raw = append(b.Raw, elem)
	})
	if !ok {
		return EventBatch{}, false
	}
	return b, true
}

// BatchOf is the batch of events already split, none decoded yet.
func BatchOf(raws []json.RawMessage) EventBatch { return EventBatch{Raw: raws} }

// Decode is DecodeEvent(b.Raw[i]), done already if SplitEvents did it.
func (b *EventBatch) Decode(i int) (Event, error) {
	if c, off := batchSlot(i); c < len(b.events) && b.events[c][off].Type != "" {
		return b.events[c][off], nil
	}
	return DecodeEvent(b.Raw[i])
}

// decodeEventSlow is DecodeEvent for what decodeEventFast does not take:
// it finds and names whatever is wrong.
func decodeEventSlow(data []byte) (Event, error) {
	var raw map[string]json.RawMessage
	if err := decodeObject(data, &raw); err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			return Event{}, err
		}
		return Event{}, &Error{Code: EINVALID, Message: "event must be a JSON object: " + err.Error()}
	}
	return DecodeEventFields(raw)
}

// decodeEventFast decodes a valid event without the map and the sorting
// DecodeEventFields needs to report the first bad field by name: it
// splits the object in place and decodes each member in document order,
// which gives the same Event since each member sets its own field. On
// anything unusual or wrong it reports false, and DecodeEvent takes the
// full path, which finds and names the error exactly as before.
//
// The event's text is checked for UTF-8 once, and its strings are copied
// together once: its plain strings and its attributes' keys and values
// are slices of that copy, where an allocation each was a third of the
// ingest path's allocations.
func decodeEventFast(data []byte) (Event, bool) {
	var buf [32]jsonscan.Member
	members, ok := jsonscan.Members(data, buf[:0])
	if !ok {
		return Event{}, false
	}
	return decodeMembers(data, members)
}

// decodeMembers is decodeEventFast of data split into members.
func decodeMembers(data []byte, members []jsonscan.Member) (Event, bool) {
	const maxMembers = 32
	if len(members) > maxMembers || !utf8.Valid(data) {
		return Event{}, false
	}
	// The values kept as strings (and the ts, parsed from it) are copied
	// together into text, each at its offset there; the rest of the
	// event (an input or a result of kilobytes) is not, so the strings
	// keep no more memory alive than they hold.
	var (
		fields [maxMembers]*EventField
		at     [maxMembers]int
		size   int
	)
	for i, m := range members {
		f, known := LookupEventField(m.Key)
		if !known {
			return Event{}, false
		}
		if fields[i] = f; keptAsText(f.Kind) {
			size += len(m.Value)
		}
	}
	var sb strings.Builder
	sb.Grow(size)
	for i, m := range members {
		if keptAsText(fields[i].Kind) {
			at[i] = sb.Len()
			sb.Write(m.Value)
		}
	}
	text := sb.String()
	var ev Event
	for i, m := range members {
		if fields[i].Kind == KindType {
			t, ok := jsonscan.Unquoted(text[at[i] : at[i]+len(m.Value)])
			if !ok {
				return Event{}, false
			}
			ev.Type = EventType(t)
		}
	}
	et, ok := eventSpecs[ev.Type]
	if !ok {
		return Event{}, false
	}
	var seen uint64
	for i, m := range members {
		f := fields[i]
		if seen&(1<<f.index) != 0 {
			return Event{}, false // sent twice
		}
		seen |= 1 << f.index
		switch {
		case f.Kind == KindType:
			continue
		case f.Kind == KindSeq || et.allowed&(1<<f.index) == 0:
			return Event{}, false
		case f.Kind == KindString:
			if s, ok := jsonscan.Unquoted(text[at[i] : at[i]+len(m.Value)]); ok && s != "" {
				*f.Ptr(&ev).(*string) = s
				continue
			}
		case f.Kind == KindTime:
			if s, ok := jsonscan.Unquoted(text[at[i] : at[i]+len(m.Value)]); ok {
				if t, err := parseTime(f.Name, s); err == nil {
					*f.Ptr(&ev).(*time.Time) = t
					continue
				}
			}
		case f.Kind == KindAttributes:
			// Scalars refuses a repeated key and an escape, what
			// checkJSON looks for.
			if a, ok := jsonscan.ScalarsIn(text, m.Value, at[i]); ok {
				if setAttributes(&ev, f, a) != nil {
					return Event{}, false
				}
				continue
			}
		}
		if checkJSON(f.Name, m.Value) != nil || decodeField(&ev, f, m.Value) != nil {
			return Event{}, false
		}
	}
	if seen == 0 || validateEvent(&ev, true) != nil {
		return Event{}, false
	}
	return ev, true
}

// keptAsText reports whether decodeMembers copies values of kind k into
// the event's text.
func keptAsText(k FieldKind) bool {
	return k == KindType || k == KindString || k == KindTime || k == KindAttributes
}

// DecodeEventFields is DecodeEvent for an object already split into fields.
func DecodeEventFields(raw map[string]json.RawMessage) (Event, error) {
	var ev Event
	typ, ok := raw["type"]
	if !ok {
		return ev, FieldErrorf("type", "is required")
	}
	t, ok := jsonscan.String(typ)
	if !ok && json.Unmarshal(typ, &t) != nil {
		return ev, FieldErrorf("type", "must be a string")
	}
	ev.Type = EventType(t)
	et, ok := eventSpecs[ev.Type]
	if !ok {
		return ev, FieldErrorf("type", "unknown event type %q (known: %s)", t, joinTypes())
	}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic: the first bad field by name is reported
	for _, name := range names {
		f, known := LookupEventField(name)
		switch {
		case known && f.Kind == KindType:
			continue
		case known && f.Kind == KindSeq:
			return ev, FieldErrorf(name, "is assigned by the server and must not be sent")
		case !known || et.allowed&(1<<f.index) == 0:
			return ev, FieldErrorf(name, "is not a field of %s events; put extra data in attributes", ev.Type)
		}
		if !utf8.Valid(raw[name]) {
			return ev, FieldErrorf(name, "is not valid UTF-8 (JSON text must be UTF-8; escape binary data or encode it as base64)")
		}
		if err := checkJSON(name, raw[name]); err != nil {
			return ev, err
		}
		if err := decodeField(&ev, f, raw[name]); err != nil {
			return ev, err
		}
	}
	return ev, validateEvent(&ev, true)
}

// ValidateEvent checks an event against its type's schema: required fields
// present, no fields foreign to the type, and the per-field rules that hold
// after decoding. Recorder.Commit runs it on every event, however it was
// built; the record path, whose events DecodeEvent validated as it decoded
// them, commits with CommitValidated instead.
func ValidateEvent(ev *Event) error { return validateEvent(ev, false) }

// validateEvent is ValidateEvent. decoded says decodeField has just built
// every field of ev, each a field of the event's type, from a JSON value
// that passed utf8.Valid and checkJSON: its text is then valid UTF-8 (a
// JSON string of valid UTF-8 without escaped lone surrogates decodes to
// valid UTF-8) and each of its attributes was checked as it was decoded,
// so those walks, and the one for fields foreign to the type, are
// skipped. FuzzDecodeEvent holds every event DecodeEvent accepts to the
// full ValidateEvent.
func validateEvent(ev *Event, decoded bool) error {
	et, ok := eventSpecs[ev.Type]
	if !ok {
		return FieldErrorf("type", "unknown event type %q (known: %s)", ev.Type, joinTypes())
	}
	foreign := rules.typed
	if decoded {
		foreign = nil
	}
	for _, f := range foreign {
		if et.allowed&(1<<f.index) == 0 && f.IsSet(ev) {
			return FieldErrorf(f.Name, "is not a field of %s events; put extra data in attributes", ev.Type)
		}
	}
	for _, f := range et.required {
		if !f.IsSet(ev) {
			return FieldErrorf(f.Name, "is required for %s events", ev.Type)
		}
	}
	if !decoded {
		if err := validateText(ev); err != nil {
			return err
		}
	}
	for _, f := range rules.times {
		ts := *f.Ptr(ev).(*time.Time)
		if ts.IsZero() {
			continue
		}
		if ts.Before(MinEventTime) {
			return FieldErrorf(f.Name, "%s is before %s; send RFC 3339 times of when the event happened", ts.UTC().Format(time.RFC3339Nano), MinEventTime.Format(time.RFC3339))
		}
		if limit := time.Now().Add(MaxEventFuture); ts.After(limit) {
			return FieldErrorf(f.Name, "%s is more than %s in the future (check the sender's clock)", ts.UTC().Format(time.RFC3339Nano), MaxEventFuture)
		}
	}
	for _, f := range rules.checked {
		if s := *f.Ptr(ev).(*string); s != "" {
			if err := f.Check(s); err != nil {
				return err
			}
		}
	}
	for _, c := range rules.counts {
		v := *c.f.Ptr(ev).(**int64)
		if v != nil && *v < 0 {
			return FieldErrorf(c.f.Name, "must be >= 0, got %d", *v)
		}
		if v != nil && *v > c.max {
			return FieldErrorf(c.f.Name, "must be <= %d, got %d", c.max, *v)
		}
	}
	for _, f := range rules.durations {
		v := *f.Ptr(ev).(**float64)
		if v != nil && (*v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return FieldErrorf(f.Name, "must be a finite number >= 0")
		}
		if v != nil && *v > f.Max {
			return FieldErrorf(f.Name, "must be <= %.0f (%g days), got %g", f.Max, f.Max/(24*3600*1000), *v)
		}
	}
	for _, c := range rules.money {
		v := *c.f.Ptr(ev).(**USD)
		if v != nil && *v < 0 {
			return FieldErrorf(c.f.Name, "must be >= 0")
		}
		if v != nil && *v > USD(c.max) {
			return FieldErrorf(c.f.Name, "must be <= %s per event, got %s", USD(c.max), *v)
		}
	}
	if ev.TokensIn != nil {
		// Each count is in [0, MaxTokens] here, so this sum cannot wrap.
		var cached int64
		if ev.CacheReadTokens != nil {
			cached += *ev.CacheReadTokens
		}
		if ev.CacheWriteTokens != nil {
			cached += *ev.CacheWriteTokens
		}
		if cached > *ev.TokensIn {
			return FieldErrorf("cache_read_tokens", "cache_read_tokens + cache_write_tokens (%d) exceed tokens_in (%d); tokens_in is the full input count including cached tokens", cached, *ev.TokensIn)
		}
	}
	if !et.spec.System {
		for _, e := range rules.enums {
			if v := *e.f.Ptr(ev).(*string); v != "" && !slices.Contains(e.f.Enum, v) {
				return FieldErrorf(e.f.Name, "must be %s, got %q", e.text, v)
			}
		}
	}
	switch ev.Type {
	case SessionCompleted:
		if !RunStatus(ev.Status).Terminal() {
			return FieldErrorf("status", "must be completed, failed or cancelled, got %q", ev.Status)
		}
	case CostRecorded:
		if ev.Currency != "" && ev.Currency != "USD" {
			return FieldErrorf("currency", "must be USD (amount_usd is in US dollars), got %q", ev.Currency)
		}
	}
	for _, f := range rules.objects {
		if v := *f.Ptr(ev).(*json.RawMessage); len(v) > 0 && v[0] != '{' {
			return FieldErrorf(f.Name, "must be a JSON object")
		}
	}
	if decoded {
		return nil
	}
	for _, f := range rules.attributes {
		for k, v := range *f.Ptr(ev).(*map[string]any) {
			if err := validateAttribute(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateAttribute(k string, v any) error {
	if !attrKeyPattern.MatchString(k) {
		return FieldErrorf("attributes", "key %q must match ^[A-Za-z_][A-Za-z0-9_.-]{0,127}$", k)
	}
	switch v.(type) {
	case string, bool, json.Number, float64, int, int64:
		return nil
	}
	return FieldErrorf("attributes."+k, "must be a string, number or boolean")
}

// decodeField decodes raw, the JSON value a client sent for field f, into
// ev, refusing a value of the wrong kind. It never coerces a value.
func decodeField(ev *Event, f *EventField, raw json.RawMessage) error {
	name := f.Name
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return FieldErrorf(name, "must not be null")
	}
	switch f.Kind {
	case KindString:
		s, ok := jsonString(raw)
		if !ok {
			return FieldErrorf(name, "must be a string")
		}
		if s == "" {
			return FieldErrorf(name, "must not be empty")
		}
		*f.Ptr(ev).(*string) = s
	case KindCount:
		i, ok := jsonscan.Int(raw)
		if !ok {
			if raw[0] == '"' {
				return FieldErrorf(name, "must be a non-negative integer, not a string")
			}
			var err error
			if i, err = jsonCount(name, raw); err != nil {
				return err
			}
		}
		*f.Ptr(ev).(**int64) = &i
	case KindDuration:
		d, ok := jsonscan.Float(raw)
		if !ok && json.Unmarshal(raw, &d) != nil {
			return FieldErrorf(name, "must be a number of milliseconds")
		}
		if d < 0 {
			return FieldErrorf(name, "must be >= 0, got %v", d)
		}
		*f.Ptr(ev).(**float64) = &d
	case KindObject:
		if raw[0] != '{' || !json.Valid(raw) {
			return FieldErrorf(name, "must be a JSON object")
		}
		*f.Ptr(ev).(*json.RawMessage) = compactJSON(raw)
	case KindJSON:
		if !json.Valid(raw) {
			return FieldErrorf(name, "must be valid JSON")
		}
		*f.Ptr(ev).(*json.RawMessage) = compactJSON(raw)
	case KindMoney:
		if raw[0] == '"' {
			return FieldErrorf(name, "must be a JSON number, not a string")
		}
		u, err := ParseUSD(string(raw))
		if err != nil {
			return FieldErrorf(name, "%v", err)
		}
		*f.Ptr(ev).(**USD) = &u
	case KindTime:
		// A timestamp has no escapes; encoding/json (a fifth of decoding
		// a batch's events) is for the rest.
		s, ok := jsonString(raw)
		if !ok {
			return FieldErrorf(name, "must be an RFC 3339 timestamp string")
		}
		t, err := parseTime(name, s)
		if err != nil {
			return err
		}
		*f.Ptr(ev).(*time.Time) = t
	case KindAttributes:
		m, ok := jsonscan.Scalars(raw)
		if !ok {
			if m, ok = jsonAttributes(raw); !ok {
				return FieldErrorf(name, "must be an object of string, number or boolean values")
			}
		}
		return setAttributes(ev, f, m)
	default:
		return fmt.Errorf("decode %s: a client does not send a field of kind %d", name, f.Kind)
	}
	return nil
}

// parseTime is s, the value of the time field name, in UTC.
func parseTime(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, FieldErrorf(name, "must be an RFC 3339 timestamp, got %q", s)
	}
	if t.Before(MinEventTime) {
		// Checked here as well as in ValidateEvent, which cannot tell
		// a zero time sent from none sent: 0001-01-01T00:00:00Z must
		// be refused, not taken for "now".
		return time.Time{}, FieldErrorf(name, "%s is before %s; send RFC 3339 times of when the event happened", t.UTC().Format(time.RFC3339Nano), MinEventTime.Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// setAttributes sets ev's attributes field f to m, each attribute checked.
func setAttributes(ev *Event, f *EventField, m map[string]any) error {
	for k, v := range m {
		if err := validateAttribute(k, v); err != nil {
			return err
		}
	}
	*f.Ptr(ev).(*map[string]any) = m
	return nil
}

// The fallbacks of decodeField, where jsonscan does not take a value, are
// functions of their own so that decodeField's variables, whose address
// encoding/json would take, stay off the heap on the usual path.

// jsonString is the value of raw, a JSON string.
func jsonString(raw []byte) (string, bool) {
	if s, ok := jsonscan.String(raw); ok {
		return s, true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// jsonCount is the value of raw, a JSON non-negative integer, or an error
// on field name.
func jsonCount(name string, raw []byte) (int64, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, FieldErrorf(name, "must be a non-negative integer")
	}
	i, err := n.Int64()
	if err != nil {
		return 0, FieldErrorf(name, "must be a non-negative integer, got %s", n)
	}
	if i < 0 {
		return 0, FieldErrorf(name, "must be >= 0, got %d", i)
	}
	return i, nil
}

// jsonAttributes is raw, a JSON object, decoded as attributes are.
func jsonAttributes(raw []byte) (map[string]any, bool) {
	var m map[string]any
	return m, decodeObject(raw, &m) == nil
}

// decodeObject decodes a JSON object keeping numbers exact and refusing
// trailing data.
func decodeObject(data []byte, v any) error {
	if m, ok := v.(*map[string]json.RawMessage); ok {
		if fields, ok := jsonscan.Object(data); ok {
			*m = fields
			return nil
		}
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("not an object")
	}
	if json.Valid(data) {
		if err := checkJSON("", data); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the object")
	}
	return nil
}

// checkJSON refuses what decoding would silently alter in raw, valid JSON
// that is the value of field name ("" for an event itself): a key repeated
// in one object (decoding keeps only the last) and an escaped lone UTF-16
// surrogate (decoded as U+FFFD). The error names the place, such as
// attributes.region.
func checkJSON(name string, raw []byte) error {
	if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[' && bytes.IndexByte(raw, '\\') < 0) {
		return nil // a number, literal or plain string: nothing to alter
	}
	path, why, ok := jsonscan.Check(raw)
	if ok {
		return nil
	}
	where := strings.TrimPrefix(name+path, ".")
	if where == "" {
		where = "event"
	}
	return FieldErrorf(where, "%s", why)
}

// compactJSON returns raw, valid JSON, without insignificant white space,
// in memory of its own (raw may be a slice of a request body).
func compactJSON(raw json.RawMessage) json.RawMessage {
	if isCompact(raw) {
		return bytes.Clone(raw)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return json.RawMessage(b.Bytes())
}

// isCompact reports whether raw, valid JSON, has no white space outside
// its strings.
func isCompact(raw []byte) bool {
	in := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

func joinTypes() string {
	var parts []string
	for _, t := range EventTypes() {
		if !eventSpecs[t].spec.System {
			parts = append(parts, string(t))
		}
	}
	return strings.Join(parts, ", ")
}
