package splunkbridge

import "context"

// Searcher runs SPL over one organisation's events. The backend, not the
// query text, enforces the organisation: the embedded engine
// (spl) reads only that organisation's rows from the store;
// the Splunk backends rewrite the query with ScopeQuery.
//
// Backends: "splunk-rest" is *RESTClient. "splunk-mcp" will be an adapter
// over the client package's MCP Searcher (a Splunk MCP server's search
// tool), applying ScopeQuery the same way; it lives with the lead's wiring,
// not here, so this package does not depend on the MCP SDK.
type Searcher interface {
	Search(ctx context.Context, orgID string, query string, tr TimeRange, limit int) (*SearchResult, error)
}

// TimeRange bounds a search with Splunk time modifiers: relative ("-24h",
// "@d", "now"), epoch seconds or ISO 8601. Empty fields leave that side
// open (Splunk's defaults).
type TimeRange struct {
	Earliest string `json:"earliest,omitempty"`
	Latest   string `json:"latest,omitempty"`
}

// SearchResult is a search's rows. Fields lists the columns in the order
// Splunk reported them; each row maps a field to a string, a number or,
// for multivalue fields, a []any.
type SearchResult struct {
	Fields  []string         `json:"fields"`
	Rows    []map[string]any `json:"rows"`
	Backend string           `json:"backend"`
	// Truncated is true when the backend had more rows than the limit.
	Truncated bool `json:"truncated,omitempty"`
}

// Backend names.
const (
	BackendSplunkREST = "splunk-rest"
	BackendSplunkMCP  = "splunk-mcp"
	// BackendLocal is the embedded engine (package spl).
	BackendLocal = "local"
)

// DefaultSearchLimit is the row limit when a caller passes 0.
const DefaultSearchLimit = 1000

// MaxSearchLimit caps the rows of one search.
const MaxSearchLimit = 50_000

func clampLimit(limit int) int {
	if limit <= 0 {
		return DefaultSearchLimit
	}
	return min(limit, MaxSearchLimit)
}
