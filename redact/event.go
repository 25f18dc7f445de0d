package redact

import (
	"encoding/json"
	"maps"
	"slices"
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
	var changed, ok bool
	ev.Input, ev.Output, ev.Error, changed = r.content(ev.Input, ev.Output, ev.Error)
	if ev.Arguments, ok = r.JSON("arguments", ev.Arguments); ok {
		changed = true
	}
	if ev.Result, ok = r.JSON("result", ev.Result); ok {
		changed = true
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

// Request returns req with its events and its run's content redacted:
// the run's input, output, error and metadata (Start) and the output and
// error of its update, which the store keeps beside the events. Nothing of
// req is modified: what changes is copied first.
func (r *Redactor) Request(req agentscope.AppendRequest) agentscope.AppendRequest {
	if r.Empty() {
		return req
	}
	copied := false
	for i := range req.Events {
		ev, changed := r.Event(req.Events[i])
		if !changed {
			continue
		}
		if !copied {
			req.Events, copied = slices.Clone(req.Events), true
		}
		req.Events[i] = ev
	}
	if req.Start != nil {
		if run, changed := r.run(*req.Start); changed {
			req.Start = &run
		}
	}
	if req.Update != nil {
		u := *req.Update
		out, c1 := r.JSON("output", u.Output)
		msg, c2 := r.String(u.Error)
		if c1 || c2 {
			u.Output, u.Error = out, msg
			req.Update = &u
		}
	}
	return req
}

func (r *Redactor) run(run agentscope.Run) (agentscope.Run, bool) {
	var changed bool
	run.Input, run.Output, run.Error, changed = r.content(run.Input, run.Output, run.Error)
	var meta map[string]string
	for k, v := range run.Metadata {
		if s, ok := r.String(v); ok {
			if meta == nil {
				meta = maps.Clone(run.Metadata)
			}
			meta[k] = s
		}
	}
	if meta != nil {
		run.Metadata, changed = meta, true
	}
	return run, changed
}

// content redacts what events and runs share: an input, an output and an
// error text.
func (r *Redactor) content(in, out json.RawMessage, msg string) (json.RawMessage, json.RawMessage, string, bool) {
	in, c1 := r.JSON("input", in)
	out, c2 := r.JSON("output", out)
	msg, c3 := r.String(msg)
	return in, out, msg, c1 || c2 || c3
}
