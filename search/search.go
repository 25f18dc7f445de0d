// Package search is AgentScope's one way to run SPL: it routes a query to
// the embedded engine ("local", package spl), to Splunk's
// management API ("splunk-rest") or to a Splunk MCP server's search tool
// ("splunk-mcp"), and answers in one shape whichever backend ran it.
//
// Every backend confines a query to the caller's organisation itself: the
// embedded engine reads only that organisation's rows; the Splunk backends
// rewrite the query with splunkbridge.ScopeQuery. Queries bound for Splunk
// must also pass spl.CheckReadOnly, so commands that write or reach out
// (delete, collect, outputlookup, sendemail, script, map, rest,
// subsearches) are refused before anything is sent.
package search

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/splunkbridge"
)

// BackendLocal names the embedded engine.
const BackendLocal = splunkbridge.BackendLocal

// Request is one query and its bounds. Earliest and Latest are Splunk time
// modifiers; RowLimit 0 means the backend's default. Backend "" means the
// router's default.
type Request struct {
	Query    string
	Earliest string
	Latest   string
	RowLimit int
	Backend  string
}

// Answer is a query's result in the shape run_spl, POST /api/v1/spl and
// `agentscope spl --json` return.
type Answer struct {
	Results   []map[string]any `json:"results"`
	Fields    []string         `json:"fields"`
	Backend   string           `json:"backend"`
	Query     string           `json:"query"`
	ElapsedMS float64          `json:"elapsed_ms"`
	Truncated bool             `json:"truncated,omitempty"`
}

// Router runs queries on named backends. It is safe for concurrent use.
type Router struct {
	def      string
	backends map[string]splunkbridge.Searcher
	limits   Limits
	running  admission
}

// NewRouter returns a router over backends (by name); def is the backend a
// request without one uses and must be among them. Every query runs under
// limits (zero fields: DefaultLimits).
func NewRouter(def string, backends map[string]splunkbridge.Searcher, limits Limits) (*Router, error) {
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

// Run runs req for orgID.
func (r *Router) Run(ctx context.Context, orgID string, req Request) (*Answer, error) {
	if orgID == "" {
		return nil, agentscope.Errorf(agentscope.EUNAUTHORIZED, "search: no organisation")
	}
	q := strings.TrimSpace(req.Query)
	if q == "" {
		return nil, agentscope.FieldErrorf("query", "query is required")
	}
	if len(q) > maxQueryLen {
		return nil, agentscope.FieldErrorf("query", "query is %d bytes; the limit is %d", len(q), maxQueryLen)
	}
	if req.RowLimit < 0 {
		return nil, agentscope.FieldErrorf("row_limit", "row_limit must be 0 (the default) or more, got %d", req.RowLimit)
	}
	name := req.Backend
	if name == "" {
		name = r.def
	}
	b, ok := r.backends[name]
	if !ok {
		return nil, agentscope.FieldErrorf("backend", "backend %q is not configured here; available: %s", name, strings.Join(r.Backends(), ", "))
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
	res, err := b.Search(ctx, orgID, q, splunkbridge.TimeRange{Earliest: req.Earliest, Latest: req.Latest}, req.RowLimit)
	err = timedOut(parent, ctx, err, r.limits)
	if err != nil {
		if agentscope.ErrorCode(err) != agentscope.EINTERNAL || ctx.Err() != nil {
			return nil, err
		}
		// A backend failure (Splunk unreachable, a search error Splunk
		// reported) is the caller's to see, not an internal error to hide.
		return nil, agentscope.Errorf(agentscope.EUNAVAILABLE, "search backend %s: %v", name, err)
	}
	rows := res.Rows
	if rows == nil {
		rows = []map[string]any{}
	}
	fields := res.Fields
	if fields == nil {
		fields = []string{}
	}
	a := &Answer{Results: rows, Fields: fields, Backend: name, Query: q,
		ElapsedMS: float64(time.Since(start).Microseconds()) / 1000}
	if req.RowLimit > 0 && len(rows) > req.RowLimit {
		a.Results, a.Truncated = rows[:req.RowLimit], true
	}
	if res.Truncated {
		a.Truncated = true
	}
	return a, nil
}

// Local runs queries on the embedded SPL engine.
type Local struct {
	Engine *spl.Engine
}

// Search implements splunkbridge.Searcher.
func (l Local) Search(ctx context.Context, orgID, query string, tr splunkbridge.TimeRange, limit int) (*splunkbridge.SearchResult, error) {
	res, err := l.Engine.Run(ctx, orgID, query, spl.QueryOptions{EarliestTime: tr.Earliest, LatestTime: tr.Latest, RowLimit: limit})
	if err != nil {
		return nil, err
	}
	return &splunkbridge.SearchResult{Fields: res.Fields, Rows: res.Rows, Backend: BackendLocal, Truncated: res.Truncated}, nil
}

// MCPSearcher runs queries through a Splunk MCP server's search tool (see
// client.FindSearchTool), each rewritten with splunkbridge.ScopeQuery to
// the caller's organisation. (AgentScope's own MCP server scopes by
// organisation itself, through OrgMCP.)
type MCPSearcher struct {
	// Tool is the client's search: client.(*Searcher).Search.
	Tool func(ctx context.Context, query, earliest, latest string, limit int) ([]map[string]any, error)
}

// Search implements splunkbridge.Searcher.
func (m MCPSearcher) Search(ctx context.Context, orgID, query string, tr splunkbridge.TimeRange, limit int) (*splunkbridge.SearchResult, error) {
	q, err := splunkbridge.ScopeQuery(orgID, query)
	if err != nil {
		return nil, err
	}
	rows, err := m.Tool(ctx, q, tr.Earliest, tr.Latest, limit)
	if err != nil {
		return nil, err
	}
	return &splunkbridge.SearchResult{Fields: fieldsOf(rows), Rows: rows, Backend: splunkbridge.BackendSplunkMCP}, nil
}

// fieldsOf lists the fields of rows, which an MCP tool returns without a
// column order: _time first as Splunk shows it, then the other fields in
// first-seen order (sorted within a row), then other internal fields
// (starting with '_').
func fieldsOf(rows []map[string]any) []string {
	seen := map[string]bool{}
	var fields []string
	for _, r := range rows {
		keys := make([]string, 0, len(r))
		for k := range r {
			if !seen[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			seen[k] = true
			fields = append(fields, k)
		}
	}
	slices.SortStableFunc(fields, func(a, b string) int {
		return rank(a) - rank(b)
	})
	return fields
}

func rank(f string) int {
	switch {
	case f == "_time":
		return 0
	case strings.HasPrefix(f, "_"):
		return 2
	default:
		return 1
	}
}
