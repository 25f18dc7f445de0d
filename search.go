package agentscope

import "context"

// Searcher runs SPL over one organisation's events. It is AgentScope's one
// search interface: run_spl, POST /api/v1/spl, the web UI, agents'
// splunk_context_search and the investigator all take it.
//
// The backend, not the query text, confines a search to orgID: the
// embedded engine (package spl) reads only that organisation's rows from
// the store; the Splunk backends (package splunkbridge, over Splunk's REST
// API or a Splunk MCP server) rewrite the query so it can match only that
// organisation's events. Cancelling ctx stops a search; q.Limit bounds its
// rows. The search package's Router is a Searcher over several backends
// that adds the limits every query runs under (a time limit, concurrency
// caps, read-only checks for Splunk).
type Searcher interface {
	Search(ctx context.Context, orgID string, q SearchQuery) (*SearchResult, error)
}

// SearchQuery is one SPL query and its bounds.
type SearchQuery struct {
	// Query is the SPL text.
	Query string
	// Earliest and Latest bound the search with Splunk time modifiers:
	// relative ("-24h", "@d", "now"), epoch seconds or ISO 8601. Empty
	// leaves that side open.
	Earliest, Latest string
	// Limit is the most rows to return; 0 means the backend's default.
	Limit int
	// Backend names the backend to run on, for a Searcher that routes
	// between several (the search package's Router); empty means its
	// default. A single backend ignores it.
	Backend string
}

// SearchResult is a search's answer, in the shape run_spl, POST
// /api/v1/spl and `agentscope spl --json` return.
type SearchResult struct {
	// Results are the rows: each maps a field to a string, a number
	// (float64, int64 or json.Number) or, for a multivalue field, a slice.
	Results []map[string]any `json:"results"`
	// Fields lists the columns in the order the backend reported them.
	Fields []string `json:"fields"`
	// Backend names the backend that ran the query.
	Backend string `json:"backend"`
	// Query is the query as it was run and ElapsedMS how long it took; the
	// search package's Router sets them.
	Query     string  `json:"query"`
	ElapsedMS float64 `json:"elapsed_ms"`
	// Truncated is true when the backend had more rows than the limit.
	Truncated bool `json:"truncated,omitempty"`
}

// SearchFunc adapts a function to Searcher.
type SearchFunc func(ctx context.Context, orgID string, q SearchQuery) (*SearchResult, error)

// Search implements Searcher.
func (f SearchFunc) Search(ctx context.Context, orgID string, q SearchQuery) (*SearchResult, error) {
	return f(ctx, orgID, q)
}
