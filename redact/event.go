package redact

import (
	"encoding/json"
	"maps"
	"strings"

	"github.com/agentscope/agentscope"
)

// Event returns ev with its content redacted, and whether anything
// changed: the JSON fields input, output, arguments and result are walked
// (JSON), attributes' values are redacted by the pattern rules or replaced
// whole at a path, and the error text by the pattern rules. ev's own slices
// and map are never modified: what changes is replaced, so the caller's
// copy keeps what it sent.
func (r *Redactor) Event(ev agentscope.Event) (agentscope.Event, bool) {
	if r.Empty() {
		return ev, false
	}
	changed := false
	var ok bool
	if ev.Input, ok = r.JSON("input", ev.Input); ok {
		changed = true
	}
	if ev.Output, ok = r.JSON("output", ev.Output); ok {
		changed = true
	}
	if ev.Arguments, ok = r.JSON("arguments", ev.Arguments); ok {
		changed = true
	}
	if ev.Result, ok = r.JSON("result", ev.Result); ok {
		changed = true
	}
	if s, ok := r.String(ev.Error); ok {
		ev.Error, changed = s, true
	}
	if attrs, ok := r.attributes(ev.Attributes); ok {
		ev.Attributes, changed = attrs, true
	}
	return ev, changed
}

// attributes redacts an event's attributes (string, json.Number or bool
// values), copying the map only if something changes.
func (r *Redactor) attributes(attrs map[string]any) (map[string]any, bool) {
	var out map[string]any
	set := func(k string, v any) {
		if out == nil {
			out = maps.Clone(attrs)
		}
		out[k] = v
	}
	for k, v := range attrs {
		if p := r.attributePath(k); p != nil {
			set(k, Marker(p.name))
			continue
		}
		switch v := v.(type) {
		case string:
			if s, ok := r.String(v); ok {
				set(k, s)
			}
		case json.Number:
			if s, ok := r.String(string(v)); ok {
				set(k, s)
			}
		}
	}
	return out, out != nil
}

func (r *Redactor) attributePath(key string) *pathRule {
	for i := range r.paths {
		p := &r.paths[i]
		if len(p.segs) == 2 && p.segs[0] == "attributes" && (p.segs[1] == "*" || strings.EqualFold(p.segs[1], key)) {
			return p
		}
	}
	return nil
}
