package service

import (
	"context"
	"strings"

	"github.com/agentscope/agentscope"
)

// ContextSearchInput is the input of splunk_context_search, the search
// managed agents are given.
type ContextSearchInput struct {
	Query    string `json:"query" jsonschema:"SPL, e.g. search type=CostRecorded | stats sum(amount_usd) by model"`
	Earliest string `json:"earliest,omitempty" jsonschema:"start of the time range, e.g. -24h (default -24h)"`
	Latest   string `json:"latest,omitempty" jsonschema:"end of the time range, e.g. now (default now)"`
	Limit    int    `json:"limit,omitempty" jsonschema:"most rows to return, 1 to 1000 (default 100)"`
}

// contextSearchArgs are splunk_context_search's arguments by the search
// argument each sets.
var contextSearchArgs = map[string]string{"earliest_time": "earliest", "latest_time": "latest", "row_limit": "limit"}

// ContextSearchOutput is splunk_context_search's result.
type ContextSearchOutput struct {
	Rows  []map[string]any `json:"rows"`
	Count int              `json:"count"`
}

// ContextSearch runs splunk_context_search for the caller's organisation
// through the configured Searcher (its default backend: Splunk when
// configured, else the embedded engine), over the last day unless told
// otherwise. A backend's failure is answered in terms a model can act on.
func (s *Service) ContextSearch(ctx context.Context, in ContextSearchInput) (ContextSearchOutput, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionSearch)
	if err != nil {
		return ContextSearchOutput{}, err
	}
	if strings.TrimSpace(in.Query) == "" {
		return ContextSearchOutput{}, agentscope.FieldErrorf("query", "is required")
	}
	if in.Limit == 0 {
		in.Limit = 100
	}
	if in.Limit < 0 || in.Limit > 1000 {
		return ContextSearchOutput{}, agentscope.FieldErrorf("limit", "must be between 1 and 1000")
	}
	if in.Earliest == "" {
		in.Earliest = "-24h"
	}
	if in.Latest == "" {
		in.Latest = "now"
	}
	if !s.Searching() {
		return ContextSearchOutput{}, agentscope.Errorf(agentscope.EUNAVAILABLE, "splunk_context_search is not available: no Splunk connection and no embedded search engine is configured in this AgentScope process")
	}
	res, err := s.Search.Searcher.Search(ctx, org, agentscope.SearchQuery{Query: in.Query, Earliest: in.Earliest, Latest: in.Latest, Limit: in.Limit})
	if err != nil {
		// The engine names run_spl's arguments; the caller used ours.
		if renamed, ok := agentscope.RenameField(err, contextSearchArgs); ok {
			return ContextSearchOutput{}, renamed
		}
		if code := agentscope.ErrorCode(err); code != agentscope.EINTERNAL {
			return ContextSearchOutput{}, err
		}
		// The backend failed: the model is told so, in terms it can act on.
		return ContextSearchOutput{}, agentscope.Errorf(agentscope.EUNAVAILABLE, "the search backend failed: %v", err)
	}
	rows := res.Results
	if rows == nil {
		rows = []map[string]any{}
	}
	return ContextSearchOutput{Rows: rows, Count: len(rows)}, nil
}
