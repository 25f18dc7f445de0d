package service

import (
	"context"
	"fmt"

	"github.com/agentscope/agentscope"
)

// Insight is a named operational search over AgentScope's events:
// splunk_insights and GET /api/v1/insights run them.
type Insight struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	SPL         string `json:"spl"`
}

// insightSpec is an insight's SPL after the base search of the index.
type insightSpec struct {
	name, description string
	// filter is added to the base search; pipeline follows it.
	filter, pipeline string
}

// insightSpecs use only what the embedded engine supports too: search
// terms, eval with if/round, stats with count, sum, perc50/perc95, and
// sort. Field names are those of the canonical event JSON.
var insightSpecs = []insightSpec{
	{
		name:        "cost_by_agent",
		description: "Total recorded cost in USD and number of cost records per agent, most expensive first (CostRecorded.amount_usd).",
		filter:      `type="CostRecorded"`,
		pipeline:    `| stats sum(amount_usd) AS cost_usd count AS cost_records by agent | sort - cost_usd`,
	},
	{
		name:        "model_latency",
		description: "Median and 95th-percentile model call latency in milliseconds, and call counts, per provider and model (ModelCompleted.duration_ms).",
		filter:      `type="ModelCompleted"`,
		pipeline:    `| stats count AS calls perc50(duration_ms) AS p50_ms perc95(duration_ms) AS p95_ms by provider model | sort - p95_ms`,
	},
	{
		name:        "tool_reliability",
		description: "Calls, errors, error rate and 95th-percentile duration in milliseconds per tool, least reliable first (ToolReturned with status ok or error).",
		filter:      `type="ToolReturned"`,
		pipeline: `| eval is_error=if(status="error", 1, 0)` +
			` | stats count AS calls sum(is_error) AS errors perc95(duration_ms) AS p95_ms by tool` +
			` | eval error_rate=round(errors / calls, 4) | sort - error_rate`,
	},
	{
		name:        "runs_by_status",
		description: "Finished runs per final status: completed, failed or cancelled (SessionCompleted.status).",
		filter:      `type="SessionCompleted"`,
		pipeline:    `| stats count AS runs by status | sort - runs`,
	},
}

// Insights returns the operational searches over index (empty: the
// role's default indexes). They are not scoped to an organisation: run
// them through an agentscope.Searcher, which adds the caller's.
func Insights(index string) ([]Insight, error) {
	base, err := agentscope.EventsQuery(index)
	if err != nil {
		return nil, err
	}
	out := make([]Insight, len(insightSpecs))
	for i, s := range insightSpecs {
		out[i] = Insight{Name: s.name, Description: s.description, SPL: base + " " + s.filter + " " + s.pipeline}
	}
	return out, nil
}

// LookupInsight returns the insight called name over index, or ENOTFOUND
// naming the known ones.
func LookupInsight(index, name string) (Insight, error) {
	all, err := Insights(index)
	if err != nil {
		return Insight{}, err
	}
	names := make([]string, len(all))
	for i, in := range all {
		if in.Name == name {
			return in, nil
		}
		names[i] = in.Name
	}
	return Insight{}, agentscope.Errorf(agentscope.ENOTFOUND, "no insight %q (known: %v)", name, names)
}

// String returns the insight's name and SPL.
func (in Insight) String() string { return fmt.Sprintf("%s: %s", in.Name, in.SPL) }

// InsightsInput is splunk_insights' input.
type InsightsInput struct {
	Name         string `json:"name,omitempty" jsonschema:"one insight: cost_by_agent, model_latency, tool_reliability or runs_by_status (default: all)"`
	EarliestTime string `json:"earliest_time,omitempty" jsonschema:"start of the time range (default -24h)"`
	LatestTime   string `json:"latest_time,omitempty" jsonschema:"end of the time range (default now)"`
}

// InsightResult is one insight's answer.
type InsightResult struct {
	Insight
	Answer *agentscope.SearchResult `json:"answer"`
}

// InsightsOutput is splunk_insights' result.
type InsightsOutput struct {
	Insights []InsightResult `json:"insights"`
}

// RunInsights runs the named insight (all when in.Name is empty) over the
// caller's organisation's events in [EarliestTime, LatestTime] (default
// the last 24 hours), on the default search backend over the index of
// SearchOptions.
func (s *Service) RunInsights(ctx context.Context, in InsightsInput) (InsightsOutput, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionSearch)
	if err != nil {
		return InsightsOutput{}, err
	}
	if !s.Searching() {
		return InsightsOutput{}, errNoSearch
	}
	var list []Insight
	if in.Name != "" {
		one, err := LookupInsight(s.Search.Index, in.Name)
		if err != nil {
			return InsightsOutput{}, err
		}
		list = []Insight{one}
	} else if list, err = Insights(s.Search.Index); err != nil {
		return InsightsOutput{}, err
	}
	earliest, latest := in.EarliestTime, in.LatestTime
	if earliest == "" {
		earliest = "-24h"
	}
	if latest == "" {
		latest = "now"
	}
	out := make([]InsightResult, 0, len(list))
	for _, one := range list {
		a, err := s.Search.Searcher.Search(ctx, org, agentscope.SearchQuery{Query: one.SPL, Earliest: earliest, Latest: latest})
		if err != nil {
			return InsightsOutput{}, err
		}
		out = append(out, InsightResult{Insight: one, Answer: a})
	}
	return InsightsOutput{Insights: out}, nil
}
