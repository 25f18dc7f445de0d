package service

import (
	"context"

	"github.com/agentscope/agentscope"
)

// The search calls HTTP and MCP share: run_spl and POST /api/v1/spl,
// splunk_insights and GET /api/v1/insights, splunk_health and GET
// /api/v1/splunk/health.

// SearchOptions configure the service's search calls. The zero value
// leaves search unconfigured: the MCP server then offers no search tools
// and the calls answer that search is not available.
type SearchOptions struct {
	// Searcher runs the queries: the search package's Router over the
	// configured backends.
	Searcher agentscope.Searcher
	// DefaultBackend names the backend a query that names none runs on.
	DefaultBackend string
	// Index is the Splunk index the insights search (empty: the role's
	// default indexes).
	Index string
	// Health reports Splunk forwarding; nil reports it disabled.
	Health func(ctx context.Context) agentscope.SplunkHealth
}

// RunSPLInput is run_spl's input (and POST /api/v1/spl's body): the
// argument names of the official Splunk MCP server's splunk_run_query, plus
// backend.
type RunSPLInput struct {
	Query        string `json:"query" jsonschema:"SPL, e.g. sourcetype=\"agentscope:events\" type=CostRecorded | stats sum(amount_usd) as cost by agent | sort -cost"`
	EarliestTime string `json:"earliest_time,omitempty" jsonschema:"start of the time range as a Splunk time modifier: -24h, -7d@d, an epoch or ISO 8601 (default: unbounded)"`
	LatestTime   string `json:"latest_time,omitempty" jsonschema:"end of the time range, e.g. now (default: unbounded)"`
	RowLimit     int    `json:"row_limit,omitempty" jsonschema:"most rows to return (default: 1000 on Splunk, 10000 on the embedded engine)"`
	Backend      string `json:"backend,omitempty" jsonschema:"local (the embedded engine), splunk-rest or splunk-mcp; default: Splunk when configured, else local"`
}

// Searching reports whether search is configured.
func (s *Service) Searching() bool { return s.Search.Searcher != nil }

// SearchBackend names the backend a query naming backend runs on: backend
// itself, or the default when it is empty.
func (s *Service) SearchBackend(backend string) string {
	if backend == "" {
		return s.Search.DefaultBackend
	}
	return backend
}

// RunSPL runs a read-only SPL query over the caller's organisation's
// events.
func (s *Service) RunSPL(ctx context.Context, in RunSPLInput) (*agentscope.SearchResult, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionSearch)
	if err != nil {
		return nil, err
	}
	if !s.Searching() {
		return nil, errNoSearch
	}
	return s.Search.Searcher.Search(ctx, org, agentscope.SearchQuery{Query: in.Query, Earliest: in.EarliestTime, Latest: in.LatestTime, Limit: in.RowLimit, Backend: in.Backend})
}

var errNoSearch = agentscope.Errorf(agentscope.EUNAVAILABLE, "search is not configured in this AgentScope process")

// SplunkHealth reports Splunk forwarding's health: the zero report
// (Enabled false) when SearchOptions.Health is nil.
func (s *Service) SplunkHealth(ctx context.Context) (agentscope.SplunkHealth, error) {
	if _, err := agentscope.Authorize(ctx, agentscope.ActionRead); err != nil {
		return agentscope.SplunkHealth{}, err
	}
	if s.Search.Health == nil {
		return agentscope.SplunkHealth{}, nil
	}
	return s.Search.Health(ctx), nil
}
