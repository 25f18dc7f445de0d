package spl

import "strings"

// projectFields returns the top-level JSON fields of the events an
// order-free query reads (see orderFree), so the store may decode only
// those; nil means every field. It walks the initial search and the
// commands up to the first stats, whose rows are the last to be events:
// every field name they mention maps to the event field it is read from
// (_time to ts, input.q to input, attributes.x to attributes). _raw, bare
// terms, wildcards and rex or spath over _raw need the whole event.
func projectFields(q *query) []string {
	need := map[string]bool{}
	all := false
	add := func(name string) {
		switch {
		case name == "" || all:
		case name == "_raw" || strings.Contains(name, "*"):
			all = true
		case name == "_time":
			need["ts"] = true
		case name == "index" || name == "sourcetype" || name == "host" || name == "org_id":
			// the same for every event: metadata, not read from it
		default:
			if i := strings.IndexAny(name, ".{"); i >= 0 {
				name = name[:i]
			}
			need[name] = true // names no event has are ignored by the store
		}
	}
	var walkSearch func(n searchNode)
	walkSearch = func(n searchNode) {
		switch x := n.(type) {
		case andNode:
			for _, c := range x {
				walkSearch(c)
			}
		case orNode:
			for _, c := range x {
				walkSearch(c)
			}
		case notNode:
			walkSearch(x.x)
		case *cmpNode:
			add(x.field)
		case matchAll, nil:
		default: // bare terms match _raw; anything new reads everything
			all = true
		}
	}
	var walkExpr func(e expr)
	walkExpr = func(e expr) {
		switch x := e.(type) {
		case fieldExpr:
			add(x.name)
		case unaryExpr:
			walkExpr(x.x)
		case binExpr:
			walkExpr(x.l)
			walkExpr(x.r)
		case *callExpr:
			for _, a := range x.args {
				walkExpr(a)
			}
		case litExpr:
		default:
			all = true
		}
	}
	if q.search != nil {
		walkSearch(q.search.expr)
	}
	for _, c := range q.commands {
		switch x := c.(type) {
		case *searchCmd:
			walkSearch(x.expr)
		case *whereCmd:
			walkExpr(x.cond)
		case *evalCmd:
			for _, a := range x.assigns {
				walkExpr(a.value)
			}
		case *tableCmd:
			for _, f := range x.fields {
				add(f)
			}
		case *fieldsCmd:
			for _, f := range x.fields {
				add(f)
			}
		case *renameCmd:
			for _, p := range x.pairs {
				add(p.from)
			}
		case *rexCmd:
			add(x.field)
		case *spathCmd:
			add(x.input)
		case *binCmd:
			add(x.field)
		case *fillnullCmd:
			if len(x.fields) == 0 {
				all = true
			}
			for _, f := range x.fields {
				add(f)
			}
		case *statsCmd:
			for _, a := range x.aggs {
				add(a.field)
			}
			for _, f := range x.by {
				add(f)
			}
			if all {
				return nil
			}
			return sortedKeys(need)
		default:
			return nil
		}
		if all {
			return nil
		}
	}
	return nil
}
