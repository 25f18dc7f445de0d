package spl

import (
	"context"

	"github.com/agentscope/agentscope"
)

// Backend is the name the embedded engine's results carry, and its name
// among the search backends.
const Backend = "local"

// Search implements agentscope.Searcher: Run over orgID's events, with the
// time range and row limit of q (q.Backend is not read).
func (e *Engine) Search(ctx context.Context, orgID string, q agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	res, err := e.Run(ctx, orgID, q.Query, QueryOptions{EarliestTime: q.Earliest, LatestTime: q.Latest, RowLimit: q.Limit})
	if err != nil {
		return nil, err
	}
	return &agentscope.SearchResult{Results: res.Rows, Fields: res.Fields, Backend: Backend, Truncated: res.Truncated}, nil
}

var _ agentscope.Searcher = (*Engine)(nil)
