// Package search is AgentScope's one way to run SPL: it routes a query to
// the embedded engine ("local", package spl), to Splunk's
// management API ("splunk-rest") or to a Splunk MCP server's search tool
// ("splunk-mcp"), and answers in one shape whichever backend ran it.
//
// Every backend confines a query to the caller's organisation itself: the
// embedded engine reads only that organisation's rows; the Splunk backends
// rewrite the query with splunkbridge.ScopeQuery. The backends and the
// Router are agentscope.Searchers. Queries bound for Splunk
// must also pass spl.CheckReadOnly, so commands that write or reach out
// (delete, collect, outputlookup, sendemail, script, map, rest,
// subsearches) are refused before anything is sent.
package search

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/spl"
)

// BackendLocal names the embedded engine.
const BackendLocal = spl.Backend

// Router runs queries on named backends: it is the agentscope.Searcher the
// callers are given, and every query through it runs under its Limits. It
// is safe for concurrent use.
type Router struct {
	def      string
	backends map[string]agentscope.Searcher
	limits   Limits
	running  admission
}

// NewRouter returns a router over backends (by name); def is the backend a
// request without one uses and must be among them. Every query runs under
// limits (zero fields: DefaultLimits).
func NewRouter(def string, backends map[string]agentscope.Searcher, limits Limits) (*Router, error) {
	if _, ok := backends[def]; !ok {
		return nil, fmt.Errorf("search: default backend %q is not configured", def)
	}
	return &Router{def: def, backends: backends, limits: limits.withDefaults()}, nil
}

// Default is the backend used when a request names none.
func (r *Router) Default() string { return r.def }

// Backends lists the configured backend names, sorted.
func (r *Router) Backends() []string {
	names := make([]string, 0, len(r.backends))
	for n := range r.backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// maxQueryLen bounds a query's text at every entry point.
const maxQueryLen = 64 << 10

var _ agentscope.Searcher = (*Router)(nil)

// Search runs q for orgID on the backend q names (empty: the default). It
// implements agentscope.Searcher.
func (r *Router) Search(ctx context.Context, orgID string, req agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	if orgID == "" {
		return nil, agentscope.Errorf(agentscope.EUNAUTHORIZED, "search: no organisation")
	}
	q := strings.TrimSpace(req.Query)
	if q == "" {
		return nil, agentscope.FieldErrorf("query", "is required")
	}
	if len(q) > maxQueryLen {
		return nil, agentscope.FieldErrorf("query", "is %d bytes; the limit is %d", len(q), maxQueryLen)
	}
	if req.Limit < 0 {
		return nil, agentscope.FieldErrorf("row_limit", "must be 0 (the default) or more, got %d", req.Limit)
	}
	name := req.Backend
	if name == "" {
		name = r.def
	}
	b, ok := r.backends[name]
	if !ok {
		return nil, agentscope.FieldErrorf("backend", "%q is not configured here; available: %s", name, strings.Join(r.Backends(), ", "))
	}
	if name != BackendLocal {
		if err := spl.CheckReadOnly(q); err != nil {
			return nil, err
		}
	}
	release, err := r.running.admit(orgID, r.limits)
	if err != nil {
		return nil, err
	}
	defer release()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, r.limits.Timeout)
	defer cancel()
	start := time.Now()
	res, err := b.Search(ctx, orgID, agentscope.SearchQuery{Query: q, Earliest: req.Earliest, Latest: req.Latest, Limit: req.Limit})
	err = timedOut(parent, ctx, err, r.limits)
	if err != nil {
		if agentscope.ErrorCode(err) != agentscope.EINTERNAL || ctx.Err() != nil {
			return nil, err
		}
		// A backend failure (Splunk unreachable, a search error Splunk
		// reported) is the caller's to see, not an internal error to hide.
		return nil, agentscope.Errorf(agentscope.EUNAVAILABLE, "search backend %s: %v", name, err)
	}
	rows := res.Results
	if rows == nil {
		rows = []map[string]any{}
	}
	fields := res.Fields
	if fields == nil {
		fields = []string{}
	}
	a := &agentscope.SearchResult{Results: rows, Fields: fields, Backend: name, Query: q,
		ElapsedMS: float64(time.Since(start).Microseconds()) / 1000}
	if req.Limit > 0 && len(rows) > req.Limit {
		a.Results, a.Truncated = rows[:req.Limit], true
	}
	if res.Truncated {
		a.Truncated = true
	}
	return a, nil
}

// On returns a Searcher that runs every query on the named backend ("":
// the default) whatever the query's Backend says, under the router's
// limits: the investigator's evidence searches go to the Splunk MCP server
// this way.
func (r *Router) On(backend string) agentscope.Searcher {
	return agentscope.SearchFunc(func(ctx context.Context, orgID string, q agentscope.SearchQuery) (*agentscope.SearchResult, error) {
		q.Backend = backend
		return r.Search(ctx, orgID, q)
	})
}
