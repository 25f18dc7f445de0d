package spl

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/agentscope/agentscope"
)

// metadata holds the fields every event row shares: what Splunk's index
// time adds to a forwarded event.
type metadata struct {
	index, sourcetype, source, host, org string
}

// row is one result flowing through the pipeline. An event row reads its
// fields from the event on demand, so a query that touches three fields
// never builds the other twenty; the first access to a nested field (or to
// the list of all fields) materialises everything into m. Fields set by
// commands live in m, where a null value hides the event's own.
type row struct {
	ev   *agentscope.Event
	meta *metadata
	// borrowed is true while ev points into the scan's batch; keep copies
	// it before the row is held past the batch.
	borrowed bool
	hasEv    bool
	full     bool // m holds every field; ev is no longer consulted
	m        map[string]Value
	raw      string
	hasRaw   bool
}

func eventRow(ev *agentscope.Event, meta *metadata) *row {
	return &row{ev: ev, meta: meta, hasEv: true, borrowed: true}
}

// keep makes a row safe to hold after the batch it was read in: it copies
// the borrowed event, so a command that keeps a few rows does not pin
// whole batches. Every operator that holds rows past push calls it.
func (r *row) keep() *row {
	if r.borrowed {
		ev := *r.ev
		r.ev, r.borrowed = &ev, false
	}
	return r
}

func newRow() *row { return &row{full: true, m: map[string]Value{}} }

// get returns a field's value, null when absent.
func (r *row) get(name string) Value {
	if v, ok := r.m[name]; ok {
		return v
	}
	if !r.hasEv || r.full {
		return null
	}
	if v, ok := r.eventField(name); ok {
		return v
	}
	r.materialise()
	return r.m[name]
}

// set sets a field; a null value removes it.
func (r *row) set(name string, v Value) {
	if r.m == nil {
		r.m = make(map[string]Value, 8)
	}
	if v.isNull() && r.full {
		delete(r.m, name)
		return
	}
	r.m[name] = v
}

func (r *row) remove(name string) { r.set(name, null) }

// names returns the row's non-null fields, sorted.
func (r *row) names() []string {
	r.materialise()
	ns := make([]string, 0, len(r.m))
	for k, v := range r.m {
		if !v.isNull() {
			ns = append(ns, k)
		}
	}
	sort.Strings(ns)
	return ns
}

// rawText returns _raw: the event's canonical JSON.
func (r *row) rawText() Value {
	if !r.hasEv {
		return r.get("_raw")
	}
	if !r.hasRaw {
		ev := *r.ev // MarshalCanonical normalises TS in place
		b, err := ev.MarshalCanonical()
		if err == nil {
			r.raw = string(b)
		}
		r.hasRaw = true
	}
	return strVal(r.raw)
}

// eventField answers the scalar fields straight from the event. It reports
// false for names that may be nested JSON paths, which need the full
// extraction.
func (r *row) eventField(name string) (Value, bool) {
	e := r.ev
	s := func(v string) (Value, bool) {
		if v == "" {
			return null, true
		}
		return strVal(v), true
	}
	switch name {
	case "_time":
		return numVal(float64(e.TS.UnixMicro()) / 1e6), true
	case "_raw":
		return r.rawText(), true
	case "index":
		return strVal(r.meta.index), true
	case "sourcetype":
		return strVal(r.meta.sourcetype), true
	case "host":
		return strVal(r.meta.host), true
	case "org_id":
		return strVal(r.meta.org), true
	case "source":
		if e.Source != "" {
			return strVal(e.Source), true
		}
		return strVal(r.meta.source), true
	case "event_id":
		return s(e.EventID)
	case "session_id":
		return s(e.SessionID)
	case "seq":
		return numVal(float64(e.Seq)), true
	case "type":
		return s(string(e.Type))
	case "ts":
		return strVal(e.TS.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")), true
	case "span_id":
		return s(e.SpanID)
	case "parent_span_id":
		return s(e.ParentSpanID)
	case "agent":
		return s(e.Agent)
	case "status":
		return s(e.Status)
	case "provider":
		return s(e.Provider)
	case "model":
		return s(e.Model)
	case "finish_reason":
		return s(e.FinishReason)
	case "tool":
		return s(e.Tool)
	case "call_id":
		return s(e.CallID)
	case "currency":
		return s(e.Currency)
	case "error":
		return s(e.Error)
	case "duration_ms":
		if e.DurationMS == nil {
			return null, true
		}
		return numVal(*e.DurationMS), true
	case "tokens_in":
		return intPtr(e.TokensIn), true
	case "tokens_out":
		return intPtr(e.TokensOut), true
	case "cache_read_tokens":
		return intPtr(e.CacheReadTokens), true
	case "cache_write_tokens":
		return intPtr(e.CacheWriteTokens), true
	case "reasoning_tokens":
		return intPtr(e.ReasoningTokens), true
	case "amount_usd":
		if e.AmountUSD == nil {
			return null, true
		}
		return literal(e.AmountUSD.String()), true
	case "input", "output", "arguments", "result", "attributes":
		return null, false
	}
	if strings.ContainsAny(name, ".{") {
		return null, false
	}
	return null, true
}

func intPtr(p *int64) Value {
	if p == nil {
		return null
	}
	return numVal(float64(*p))
}

var scalarFields = []string{
	"_time", "_raw", "index", "sourcetype", "host", "org_id", "source",
	"event_id", "session_id", "seq", "type", "ts", "span_id", "parent_span_id", "agent",
	"status", "provider", "model", "finish_reason", "tool", "call_id", "currency", "error",
	"duration_ms", "tokens_in", "tokens_out", "cache_read_tokens", "cache_write_tokens",
	"reasoning_tokens", "amount_usd",
}

// materialise extracts every field of the event into m, as Splunk's JSON
// auto-extraction names them, keeping the values commands have set.
func (r *row) materialise() {
	if r.full {
		return
	}
	if r.m == nil {
		r.m = make(map[string]Value, 32)
	}
	put := func(k string, v Value) {
		if _, ok := r.m[k]; !ok && !v.isNull() {
			r.m[k] = v
		}
	}
	for _, name := range scalarFields {
		v, _ := r.eventField(name)
		put(name, v)
	}
	e := r.ev
	acc := map[string][]Value{}
	var order []string
	add := func(k string, v Value) {
		if _, ok := acc[k]; !ok {
			order = append(order, k)
		}
		acc[k] = append(acc[k], v)
	}
	for name, raw := range map[string]json.RawMessage{"input": e.Input, "output": e.Output, "arguments": e.Arguments, "result": e.Result} {
		if len(raw) > 0 {
			flattenJSON(raw, name, add)
		}
	}
	for k, v := range e.Attributes {
		flattenAny(v, "attributes."+k, add)
	}
	for _, k := range order {
		put(k, collapse(acc[k]))
	}
	r.full = true
	for k, v := range r.m {
		if v.isNull() {
			delete(r.m, k)
		}
	}
}

// collapse turns the values found at one path into a field value: a single
// value as is, several as a multivalue of strings.
func collapse(vs []Value) Value {
	if len(vs) == 1 {
		return vs[0]
	}
	ss := make([]string, 0, len(vs))
	for _, v := range vs {
		ss = append(ss, v.values()...)
	}
	return mvVal(ss)
}

// flattenJSON walks a JSON document the way Splunk's JSON extraction names
// its fields: objects by dotted path, array elements under path{}.
func flattenJSON(raw []byte, prefix string, add func(string, Value)) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return
	}
	flattenAny(v, prefix, add)
}

func flattenAny(v any, prefix string, add func(string, Value)) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			flattenAny(x[k], prefix+"."+k, add)
		}
	case []any:
		for _, e := range x {
			flattenAny(e, prefix+"{}", add)
		}
	default:
		if s, ok := jsonScalar(v); ok {
			add(prefix, s)
		}
	}
}

// jsonScalar converts a decoded JSON scalar to a Value: numbers stay
// numbers, booleans become "true"/"false" as Splunk extracts them, null is
// absent.
func jsonScalar(v any) (Value, bool) {
	switch x := v.(type) {
	case string:
		return strVal(x), true
	case json.Number:
		if f, ok := parseNumber(string(x)); ok {
			return numVal(f), true
		}
		return strVal(string(x)), true
	case float64:
		return numVal(x), true
	case int:
		return numVal(float64(x)), true
	case int64:
		return numVal(float64(x)), true
	case bool:
		return strVal(strconv.FormatBool(x)), true
	}
	return null, false
}
