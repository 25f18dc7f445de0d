package splunkbridge

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/agentscope/agentscope"
)

// Splunk's two search backends implement agentscope.Searcher, each
// rewriting the query with ScopeQuery so it reads only the caller's
// organisation's events: [RESTClient] over Splunk's REST API and
// [MCPSearcher] over a Splunk MCP server's search tool.

// TimeRange bounds a REST search with Splunk time modifiers: relative
// ("-24h", "@d", "now"), epoch seconds or ISO 8601. Empty fields leave that
// side open (Splunk's defaults).
type TimeRange struct {
	Earliest string `json:"earliest,omitempty"`
	Latest   string `json:"latest,omitempty"`
}

// Backend names.
const (
	BackendSplunkREST = "splunk-rest"
	BackendSplunkMCP  = "splunk-mcp"
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

// MCPSearcher runs queries through a Splunk MCP server's search tool (see
// client.FindSearchTool), each rewritten with ScopeQuery to the caller's
// organisation. (AgentScope's own MCP server scopes by organisation
// itself, through the search package's OrgMCP.)
type MCPSearcher struct {
	// Tool is the client's search: client.(*Searcher).Search over
	// Config.MCPClient's client.
	Tool func(ctx context.Context, query, earliest, latest string, limit int) ([]map[string]any, error)
}

var _ agentscope.Searcher = MCPSearcher{}

// Search implements agentscope.Searcher.
func (m MCPSearcher) Search(ctx context.Context, orgID string, q agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	scoped, err := ScopeQuery(orgID, q.Query)
	if err != nil {
		return nil, err
	}
	rows, err := m.Tool(ctx, scoped, splunkTime(q.Earliest), splunkTime(q.Latest), q.Limit)
	if err != nil {
		return nil, err
	}
	return &agentscope.SearchResult{Results: rows, Fields: fieldsOf(rows), Backend: BackendSplunkMCP}, nil
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

// splunkTime is a time range's bound as Splunk is sent it: an ISO 8601
// time (which AgentScope's engine and API take, a date alone or a time
// without an offset read as UTC) as epoch seconds, which Splunk reads one
// way only; anything else, a relative modifier, as given.
func splunkTime(s string) string {
	t, ok := agentscope.ParseISO8601(strings.TrimSpace(s))
	if !ok || t.Unix() < 0 {
		return s
	}
	if us := t.Nanosecond() / 1000; us != 0 {
		return fmt.Sprintf("%d.%06d", t.Unix(), us)
	}
	return strconv.FormatInt(t.Unix(), 10)
}
