package spl

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

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

// eventField answers the scalar fields straight from the event: the
// metadata every row has, and the fields of the root's field table. It
// reports false for names that may be nested JSON paths, which need the
// full extraction.
func (r *row) eventField(name string) (Value, bool) {
	e := r.ev
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
	}
	if f, ok := agentscope.LookupEventField(name); ok {
		return fieldValue(e, f)
	}
	if strings.ContainsAny(name, ".{") {
		return null, false
	}
	return null, true
}

// metaFields are the fields of every event row beside the event's own:
// what Splunk's index time adds (source is the event's when it has one).
var metaFields = []string{"_time", "_raw", "index", "sourcetype", "host", "org_id", "source"}

// eventFields is the root's field table.
var eventFields = agentscope.EventFields()

// fieldValue is the value of a scalar field of e, null when e does not
// carry it; it reports false for the JSON fields (input, attributes, …),
// whose values are their nested paths.
func fieldValue(e *agentscope.Event, f *agentscope.EventField) (Value, bool) {
	switch p := f.Ptr(e).(type) {
	case *string:
		if *p == "" {
			return null, true
		}
		return strVal(*p), true
	case *agentscope.EventType:
		if *p == "" {
			return null, true
		}
		return strVal(string(*p)), true
	case *int64:
		return numVal(float64(*p)), true
	case *time.Time:
		return strVal(p.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")), true
	case **int64:
		return intPtr(*p), true
	case **float64:
		if *p == nil {
			return null, true
		}
		return numVal(**p), true
	case **agentscope.USD:
		if *p == nil {
			return null, true
		}
		return literal((*p).String()), true
	}
	return null, false
}

func intPtr(p *int64) Value {
	if p == nil {
		return null
	}
	return numVal(float64(*p))
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
	for _, name := range metaFields {
		v, _ := r.eventField(name)
		put(name, v)
	}
	e := r.ev
	for _, f := range eventFields {
		if v, ok := fieldValue(e, f); ok {
			put(f.Name, v)
		}
	}
	acc := map[string][]Value{}
	var order []string
	add := func(k string, v Value) {
		if _, ok := acc[k]; !ok {
			order = append(order, k)
		}
		acc[k] = append(acc[k], v)
	}
	for _, f := range eventFields {
		switch p := f.Ptr(e).(type) {
		case *json.RawMessage:
			if len(*p) > 0 {
				flattenJSON(*p, f.Name, add)
			}
		case *map[string]any:
			for k, v := range *p {
				flattenAny(v, f.Name+"."+k, add)
			}
		}
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
