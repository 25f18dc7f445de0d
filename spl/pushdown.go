package spl

import (
	"context"
	"fmt"
	"sort"

	"github.com/agentscope/agentscope"
)

// pushdown is what the initial search lets the store filter, and what of
// the search is left to evaluate on each event the store returns.
type pushdown struct {
	query agentscope.EventQuery
	// none is true when the search can match nothing (index=other), so the
	// store is not read at all.
	none bool
	// residual is what of the search the store's filters do not already
	// guarantee, for the per-event filter; nil when nothing remains.
	residual searchNode
}

// planPushdown derives store filters from the top-level AND of the initial
// search:
//
//   - session_id=v (or an OR / IN of such values) pushes the exact values.
//     Session ids are compared as written: a difference in letter case
//     that Splunk would ignore finds nothing here (documented).
//   - agent=p resolves p — case-insensitively, wildcards allowed — against
//     the organisation's agent names, so the pushdown is exact.
//   - type=v maps v case-insensitively to a registered event type.
//   - index, host, org_id and sourcetype are constant per run: a term that
//     cannot match them makes the whole search empty.
//
// Negations, numeric-looking ids and anything under OR with other fields
// are left to the per-event predicate.
func planPushdown(ctx context.Context, n searchNode, meta *metadata, src eventSource) (pushdown, error) {
	var pd pushdown
	var conj []searchNode
	switch x := n.(type) {
	case andNode:
		conj = x
	case nil:
	default:
		conj = []searchNode{x}
	}
	var sessions, agents, types map[string]bool
	intersect := func(cur map[string]bool, vals []string) map[string]bool {
		next := map[string]bool{}
		for _, v := range vals {
			if cur == nil || cur[v] {
				next[v] = true
			}
		}
		return next
	}
	var agentNames []string
	agentsLoaded := false
	var residual andNode
	for _, c := range conj {
		cmp := equalityOn(c)
		if cmp == nil {
			residual = append(residual, c)
			continue
		}
		// implied is whether every event the store returns satisfies c:
		// true where c's values were pushed down whole.
		implied := false
		switch cmp.field {
		case "index", "host", "org_id", "sourcetype":
			v := map[string]string{"index": meta.index, "host": meta.host, "org_id": meta.org, "sourcetype": meta.sourcetype}[cmp.field]
			if !anyPattern(cmp.vals, strVal(v)) {
				pd.none = true
			}
			implied = true
		case "session_id":
			var vals []string
			for _, p := range cmp.vals {
				if p.wildcard || p.isNum {
					vals = nil
					break
				}
				vals = append(vals, p.text)
			}
			if vals != nil {
				sessions = intersect(sessions, vals)
				implied = true
			}
		case "agent":
			if !agentsLoaded {
				names, err := src.agents(ctx)
				if err != nil {
					return pd, fmt.Errorf("spl: list agents for pushdown: %w", err)
				}
				agentNames, agentsLoaded = names, true
			}
			var vals []string
			for _, name := range agentNames {
				if anyPattern(cmp.vals, strVal(name)) {
					vals = append(vals, name)
				}
			}
			agents = intersect(agents, vals)
			implied = true
		case "type":
			var vals []string
			for _, p := range cmp.vals {
				t, ok := knownType(p.text)
				if p.wildcard || !ok {
					vals = nil
					break
				}
				vals = append(vals, string(t))
			}
			if vals != nil {
				types = intersect(types, vals)
				implied = true
			}
		}
		if !implied {
			residual = append(residual, c)
		}
	}
	switch len(residual) {
	case 0:
	case 1:
		pd.residual = residual[0]
	default:
		pd.residual = residual
	}
	for _, set := range []map[string]bool{sessions, agents, types} {
		if set != nil && len(set) == 0 {
			pd.none = true
		}
	}
	pd.query.SessionIDs = sortedKeys(sessions)
	pd.query.Agents = sortedKeys(agents)
	for _, t := range sortedKeys(types) {
		pd.query.Types = append(pd.query.Types, agentscope.EventType(t))
	}
	return pd, nil
}

// equalityOn returns a conjunct as one field=value-list comparison: f=v,
// f IN (…), or an OR of equalities on the same field.
func equalityOn(n searchNode) *cmpNode {
	switch x := n.(type) {
	case *cmpNode:
		if x.op == "=" {
			return x
		}
	case orNode:
		out := &cmpNode{op: "="}
		for _, c := range x {
			e := equalityOn(c)
			if e == nil || (out.field != "" && e.field != out.field) {
				return nil
			}
			out.field = e.field
			out.vals = append(out.vals, e.vals...)
		}
		return out
	}
	return nil
}

func anyPattern(ps []pattern, v Value) bool {
	for _, p := range ps {
		if p.eq(v) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	if m == nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
