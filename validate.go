package agentscope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
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
	for _, f := range []struct {
		name string
		v    string
	}{{"event_id", ev.EventID}, {"session_id", ev.SessionID}, {"span_id", ev.SpanID}, {"parent_span_id", ev.ParentSpanID},
		{"agent", ev.Agent}, {"status", ev.Status}, {"provider", ev.Provider}, {"model", ev.Model},
		{"finish_reason", ev.FinishReason}, {"tool", ev.Tool}, {"call_id", ev.CallID}, {"currency", ev.Currency},
		{"source", ev.Source}, {"error", ev.Error}} {
		if !utf8.ValidString(f.v) {
			return FieldErrorf(f.name, "is not valid UTF-8")
		}
	}
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"input", ev.Input}, {"output", ev.Output}, {"arguments", ev.Arguments}, {"result", ev.Result}} {
		if !utf8.Valid(f.v) {
			return FieldErrorf(f.name, "is not valid UTF-8 (JSON text must be UTF-8)")
		}
	}
	for k, v := range ev.Attributes {
		if s, ok := v.(string); !utf8.ValidString(k) || (ok && !utf8.ValidString(s)) {
			return FieldErrorf("attributes", "key %q is not valid UTF-8 or has a value that is not", k)
		}
	}
	return nil
}

// fieldKind says how a field's JSON value is checked and decoded.
type fieldKind int

const (
	kString     fieldKind = iota
	kCount                // non-negative integer
	kDuration             // non-negative number
	kObject               // JSON object
	kJSON                 // any JSON value but null
	kMoney                // non-negative exact decimal
	kTime                 // RFC 3339 timestamp
	kAttributes           // object of string, number or boolean values
)

type field struct {
	kind  fieldKind
	set   func(e *Event, v any)
	isSet func(e *Event) bool
}

func strField(p func(*Event) *string) field {
	return field{kString, func(e *Event, v any) { *p(e) = v.(string) }, func(e *Event) bool { return *p(e) != "" }}
}

func countField(p func(*Event) **int64) field {
	return field{kCount, func(e *Event, v any) { n := v.(int64); *p(e) = &n }, func(e *Event) bool { return *p(e) != nil }}
}

func rawField(k fieldKind, p func(*Event) *json.RawMessage) field {
	return field{k, func(e *Event, v any) { *p(e) = v.(json.RawMessage) }, func(e *Event) bool { return len(*p(e)) > 0 }}
}

// fields lists every event field a client may send, by JSON name. Envelope
// fields apply to every type; the rest only where eventSpecs allows them.
var fields = map[string]field{
	"event_id":       strField(func(e *Event) *string { return &e.EventID }),
	"session_id":     strField(func(e *Event) *string { return &e.SessionID }),
	"span_id":        strField(func(e *Event) *string { return &e.SpanID }),
	"parent_span_id": strField(func(e *Event) *string { return &e.ParentSpanID }),
	"agent":          strField(func(e *Event) *string { return &e.Agent }),
	"ts": {kTime, func(e *Event, v any) { e.TS = v.(time.Time) },
		func(e *Event) bool { return !e.TS.IsZero() }},
	"attributes": {kAttributes, func(e *Event, v any) { e.Attributes = v.(map[string]any) },
		func(e *Event) bool { return len(e.Attributes) > 0 }},

	"input":         rawField(kJSON, func(e *Event) *json.RawMessage { return &e.Input }),
	"output":        rawField(kJSON, func(e *Event) *json.RawMessage { return &e.Output }),
	"status":        strField(func(e *Event) *string { return &e.Status }),
	"provider":      strField(func(e *Event) *string { return &e.Provider }),
	"model":         strField(func(e *Event) *string { return &e.Model }),
	"finish_reason": strField(func(e *Event) *string { return &e.FinishReason }),
	"error":         strField(func(e *Event) *string { return &e.Error }),
	"tool":          strField(func(e *Event) *string { return &e.Tool }),
	"call_id":       strField(func(e *Event) *string { return &e.CallID }),
	"currency":      strField(func(e *Event) *string { return &e.Currency }),
	"source":        strField(func(e *Event) *string { return &e.Source }),
	"arguments":     rawField(kObject, func(e *Event) *json.RawMessage { return &e.Arguments }),
	"result":        rawField(kJSON, func(e *Event) *json.RawMessage { return &e.Result }),
	"duration_ms": {kDuration, func(e *Event, v any) { f := v.(float64); e.DurationMS = &f },
		func(e *Event) bool { return e.DurationMS != nil }},
	"tokens_in":          countField(func(e *Event) **int64 { return &e.TokensIn }),
	"tokens_out":         countField(func(e *Event) **int64 { return &e.TokensOut }),
	"cache_read_tokens":  countField(func(e *Event) **int64 { return &e.CacheReadTokens }),
	"cache_write_tokens": countField(func(e *Event) **int64 { return &e.CacheWriteTokens }),
	"reasoning_tokens":   countField(func(e *Event) **int64 { return &e.ReasoningTokens }),
	"amount_usd": {kMoney, func(e *Event, v any) { u := v.(USD); e.AmountUSD = &u },
		func(e *Event) bool { return e.AmountUSD != nil }},
}

var envelopeFields = map[string]bool{
	"event_id": true, "session_id": true, "type": true, "ts": true, "seq": true,
	"span_id": true, "parent_span_id": true, "agent": true, "attributes": true,
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

// AnnotationsOnly reports whether every event in evs is of a type that may
// be appended after its session ended (EventSpec.AfterEnd).
func AnnotationsOnly(evs []Event) bool {
	for _, e := range evs {
		if !eventSpecs[e.Type].AfterEnd {
			return false
		}
	}
	return len(evs) > 0
}

var eventSpecs = map[EventType]EventSpec{
	SessionStarted:   {Required: []string{"agent"}, Optional: []string{"input"}, System: true},
	ModelInvoked:     {Required: []string{"provider", "model"}, Optional: []string{"input"}},
	ModelCompleted:   {Required: []string{"provider", "model", "duration_ms", "tokens_in", "tokens_out"}, Optional: []string{"cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "finish_reason", "error", "output"}},
	ToolCalled:       {Required: []string{"tool", "call_id"}, Optional: []string{"arguments"}},
	ToolReturned:     {Required: []string{"tool", "call_id", "duration_ms", "status"}, Optional: []string{"result", "error"}},
	CostRecorded:     {Required: []string{"amount_usd"}, Optional: []string{"currency", "model", "provider", "source"}},
	SessionCompleted: {Required: []string{"status"}, Optional: []string{"output", "error"}, System: true},
}

// RegisterEventType adds an event type to the model. It is meant for package
// initialisation only (the runtime's run-state events) and panics on a
// duplicate or an unknown field name.
func RegisterEventType(t EventType, spec EventSpec) {
	if _, ok := eventSpecs[t]; ok {
		panic("agentscope: event type registered twice: " + string(t))
	}
	for _, f := range append(append([]string{}, spec.Required...), spec.Optional...) {
		if _, ok := fields[f]; !ok {
			panic("agentscope: unknown event field " + f)
		}
	}
	eventSpecs[t] = spec
}

// LookupEventType returns the spec of t and whether t is a known type.
func LookupEventType(t EventType) (EventSpec, bool) {
	s, ok := eventSpecs[t]
	return s, ok
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

func (s EventSpec) allows(name string) bool {
	for _, f := range s.Required {
		if f == name {
			return true
		}
	}
	for _, f := range s.Optional {
		if f == name {
			return true
		}
	}
	return false
}

// DecodeEvent decodes and validates one event as a client sends it. Unknown
// fields, ill-typed values and missing required fields are rejected with an
// *Error naming the field and the rule; a value is never coerced or dropped.
// The server-assigned seq must be absent.
func DecodeEvent(data []byte) (Event, error) {
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
	spec, ok := eventSpecs[ev.Type]
	if !ok {
		return ev, FieldErrorf("type", "unknown event type %q (known: %s)", t, joinTypes())
	}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic: the first bad field by name is reported
	for _, name := range names {
		if name == "type" {
			continue
		}
		if name == "seq" {
			return ev, FieldErrorf("seq", "is assigned by the server and must not be sent")
		}
		f, known := fields[name]
		if !known || (!envelopeFields[name] && !spec.allows(name)) {
			return ev, FieldErrorf(name, "is not a field of %s events; put extra data in attributes", ev.Type)
		}
		if !utf8.Valid(raw[name]) {
			return ev, FieldErrorf(name, "is not valid UTF-8 (JSON text must be UTF-8; escape binary data or encode it as base64)")
		}
		if err := checkJSON(name, raw[name]); err != nil {
			return ev, err
		}
		v, err := decodeValue(name, f.kind, raw[name])
		if err != nil {
			return ev, err
		}
		f.set(&ev, v)
	}
	return ev, ValidateEvent(&ev)
}

// ValidateEvent checks an event against its type's schema: required fields
// present, no fields foreign to the type, and the per-field rules that hold
// after decoding. The recorder runs it on every event, however it was built.
func ValidateEvent(ev *Event) error {
	spec, ok := eventSpecs[ev.Type]
	if !ok {
		return FieldErrorf("type", "unknown event type %q (known: %s)", ev.Type, joinTypes())
	}
	for name, f := range fields {
		if !envelopeFields[name] && f.isSet(ev) && !spec.allows(name) {
			return FieldErrorf(name, "is not a field of %s events; put extra data in attributes", ev.Type)
		}
	}
	for _, name := range spec.Required {
		if !fields[name].isSet(ev) {
			return FieldErrorf(name, "is required for %s events", ev.Type)
		}
	}
	if err := validateText(ev); err != nil {
		return err
	}
	if !ev.TS.IsZero() {
		if ev.TS.Before(MinEventTime) {
			return FieldErrorf("ts", "%s is before %s; send RFC 3339 times of when the event happened", ev.TS.UTC().Format(time.RFC3339Nano), MinEventTime.Format(time.RFC3339))
		}
		if limit := time.Now().Add(MaxEventFuture); ev.TS.After(limit) {
			return FieldErrorf("ts", "%s is more than %s in the future (check the sender's clock)", ev.TS.UTC().Format(time.RFC3339Nano), MaxEventFuture)
		}
	}
	if ev.SessionID != "" {
		if err := ValidateSessionID(ev.SessionID); err != nil {
			return err
		}
	}
	if ev.EventID != "" {
		if err := ValidateEventID(ev.EventID); err != nil {
			return err
		}
	}
	if ev.Agent != "" {
		if err := ValidateAgentName(ev.Agent); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		name string
		v    *int64
	}{{"tokens_in", ev.TokensIn}, {"tokens_out", ev.TokensOut}, {"cache_read_tokens", ev.CacheReadTokens}, {"cache_write_tokens", ev.CacheWriteTokens}, {"reasoning_tokens", ev.ReasoningTokens}} {
		if c.v != nil && *c.v < 0 {
			return FieldErrorf(c.name, "must be >= 0, got %d", *c.v)
		}
		if c.v != nil && *c.v > MaxTokens {
			return FieldErrorf(c.name, "must be <= %d, got %d", MaxTokens, *c.v)
		}
	}
	if ev.DurationMS != nil && (*ev.DurationMS < 0 || math.IsNaN(*ev.DurationMS) || math.IsInf(*ev.DurationMS, 0)) {
		return FieldErrorf("duration_ms", "must be a finite number >= 0")
	}
	if ev.DurationMS != nil && *ev.DurationMS > MaxDurationMS {
		return FieldErrorf("duration_ms", "must be <= %.0f (30 days), got %g", MaxDurationMS, *ev.DurationMS)
	}
	if ev.AmountUSD != nil && *ev.AmountUSD < 0 {
		return FieldErrorf("amount_usd", "must be >= 0")
	}
	if ev.AmountUSD != nil && *ev.AmountUSD > MaxEventUSD {
		return FieldErrorf("amount_usd", "must be <= %s per event, got %s", MaxEventUSD, *ev.AmountUSD)
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
	switch ev.Type {
	case ToolReturned:
		if ev.Status != "ok" && ev.Status != "error" {
			return FieldErrorf("status", "must be \"ok\" or \"error\", got %q", ev.Status)
		}
	case SessionCompleted:
		if !RunStatus(ev.Status).Terminal() {
			return FieldErrorf("status", "must be completed, failed or cancelled, got %q", ev.Status)
		}
	case CostRecorded:
		if ev.Currency != "" && ev.Currency != "USD" {
			return FieldErrorf("currency", "must be USD (amount_usd is in US dollars), got %q", ev.Currency)
		}
	}
	if len(ev.Arguments) > 0 && ev.Arguments[0] != '{' {
		return FieldErrorf("arguments", "must be a JSON object")
	}
	for k, v := range ev.Attributes {
		if err := validateAttribute(k, v); err != nil {
			return err
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

func decodeValue(name string, kind fieldKind, raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, FieldErrorf(name, "must not be null")
	}
	switch kind {
	case kString:
		s, ok := jsonscan.String(raw)
		if !ok && json.Unmarshal(raw, &s) != nil {
			return nil, FieldErrorf(name, "must be a string")
		}
		if s == "" {
			return nil, FieldErrorf(name, "must not be empty")
		}
		return s, nil
	case kCount:
		if i, ok := jsonscan.Int(raw); ok {
			return i, nil
		}
		var n json.Number
		if raw[0] == '"' {
			return nil, FieldErrorf(name, "must be a non-negative integer, not a string")
		}
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, FieldErrorf(name, "must be a non-negative integer")
		}
		i, err := n.Int64()
		if err != nil {
			return nil, FieldErrorf(name, "must be a non-negative integer, got %s", n)
		}
		if i < 0 {
			return nil, FieldErrorf(name, "must be >= 0, got %d", i)
		}
		return i, nil
	case kDuration:
		f, ok := jsonscan.Float(raw)
		if !ok && json.Unmarshal(raw, &f) != nil {
			return nil, FieldErrorf(name, "must be a number of milliseconds")
		}
		if f < 0 {
			return nil, FieldErrorf(name, "must be >= 0, got %v", f)
		}
		return f, nil
	case kObject:
		if raw[0] != '{' || !json.Valid(raw) {
			return nil, FieldErrorf(name, "must be a JSON object")
		}
		return compactJSON(raw), nil
	case kJSON:
		if !json.Valid(raw) {
			return nil, FieldErrorf(name, "must be valid JSON")
		}
		return compactJSON(raw), nil
	case kMoney:
		if raw[0] == '"' {
			return nil, FieldErrorf(name, "must be a JSON number, not a string")
		}
		u, err := ParseUSD(string(raw))
		if err != nil {
			return nil, FieldErrorf(name, "%v", err)
		}
		return u, nil
	case kTime:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, FieldErrorf(name, "must be an RFC 3339 timestamp string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, FieldErrorf(name, "must be an RFC 3339 timestamp, got %q", s)
		}
		return t.UTC(), nil
	case kAttributes:
		m, ok := jsonscan.Scalars(raw)
		if !ok && decodeObject(raw, &m) != nil {
			return nil, FieldErrorf(name, "must be an object of string, number or boolean values")
		}
		for k, v := range m {
			if err := validateAttribute(k, v); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("unknown field kind %d", kind)
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
		if !eventSpecs[t].System {
			parts = append(parts, string(t))
		}
	}
	return strings.Join(parts, ", ")
}
