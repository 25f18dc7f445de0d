package spl

import (
	"context"
	"sort"
	"strings"

	"github.com/agentscope/agentscope"
)

// eventSource is where the initial search reads events: the store, or a
// slice in tests.
type eventSource interface {
	// agents lists the organisation's agent names, to resolve agent=
	// terms (case-insensitive, wildcards) to exact names for pushdown.
	agents(ctx context.Context) ([]string, error)
	// scan streams the events matching q oldest first, in batches.
	scan(ctx context.Context, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error
}

type storeSource struct {
	store agentscope.Store
	org   string
}

func (s storeSource) agents(ctx context.Context) ([]string, error) {
	as, err := s.store.ListAgents(ctx, s.org)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name
	}
	return names, nil
}

func (s storeSource) scan(ctx context.Context, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error {
	return s.store.ScanEvents(ctx, s.org, q, fn)
}

// sliceSource serves events from memory with the store's semantics: the
// same filters, (ts, session, seq) order and batching.
type sliceSource struct{ evs []agentscope.Event }

func newSliceSource(evs []agentscope.Event) sliceSource {
	sorted := append([]agentscope.Event(nil), evs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := &sorted[i], &sorted[j]
		if !a.TS.Equal(b.TS) {
			return a.TS.Before(b.TS)
		}
		if a.SessionID != b.SessionID {
			return a.SessionID < b.SessionID
		}
		return a.Seq < b.Seq
	})
	return sliceSource{evs: sorted}
}

func (s sliceSource) agents(context.Context) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for _, e := range s.evs {
		if e.Agent != "" && !seen[e.Agent] {
			seen[e.Agent] = true
			names = append(names, e.Agent)
		}
	}
	sort.Strings(names)
	return names, nil
}

func (s sliceSource) scan(ctx context.Context, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error {
	in := func(vals []string, v string) bool {
		if len(vals) == 0 {
			return true
		}
		for _, x := range vals {
			if x == v {
				return true
			}
		}
		return false
	}
	types := make([]string, len(q.Types))
	for i, t := range q.Types {
		types[i] = string(t)
	}
	batch := q.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	var out []agentscope.Event
	for _, e := range s.evs {
		if !in(q.SessionIDs, e.SessionID) || !in(q.Agents, e.Agent) || !in(types, string(e.Type)) ||
			(!q.Earliest.IsZero() && e.TS.Before(q.Earliest)) || (!q.Latest.IsZero() && !e.TS.Before(q.Latest)) {
			continue
		}
		out = append(out, e)
		if len(out) == batch {
			if more, err := fn(out); err != nil || !more {
				return err
			}
			out = nil
		}
	}
	if len(out) > 0 {
		_, err := fn(out)
		return err
	}
	return ctx.Err()
}

// knownType maps a type= value to the registered event type it names,
// case-insensitively.
func knownType(v string) (agentscope.EventType, bool) {
	for _, t := range agentscope.EventTypes() {
		if strings.EqualFold(string(t), v) {
			return t, true
		}
	}
	return "", false
}
