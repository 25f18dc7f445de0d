package search

import (
	"context"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/splunkbridge"
)

// RunSPLInput is run_spl's input: the argument names of the official Splunk
// MCP server's splunk_run_query, plus backend.
type RunSPLInput struct {
	Query        string `json:"query" jsonschema:"SPL, e.g. sourcetype=\"agentscope:events\" type=CostRecorded | stats sum(amount_usd) as cost by agent | sort -cost"`
	EarliestTime string `json:"earliest_time,omitempty" jsonschema:"start of the time range as a Splunk time modifier: -24h, -7d@d, an epoch or ISO 8601 (default: unbounded)"`
	LatestTime   string `json:"latest_time,omitempty" jsonschema:"end of the time range, e.g. now (default: unbounded)"`
	RowLimit     int    `json:"row_limit,omitempty" jsonschema:"most rows to return (default 1000)"`
	Backend      string `json:"backend,omitempty" jsonschema:"local (the embedded engine), splunk-rest or splunk-mcp; default: Splunk when configured, else local"`
}

// InsightsInput is splunk_insights' input.
type InsightsInput struct {
	Name         string `json:"name,omitempty" jsonschema:"one insight: cost_by_agent, model_latency, tool_reliability or runs_by_status (default: all)"`
	EarliestTime string `json:"earliest_time,omitempty" jsonschema:"start of the time range (default -24h)"`
	LatestTime   string `json:"latest_time,omitempty" jsonschema:"end of the time range (default now)"`
}

// InsightResult is one insight's answer.
type InsightResult struct {
	splunkbridge.Insight
	Answer *agentscope.SearchResult `json:"answer"`
}

// InsightsOutput is splunk_insights' result.
type InsightsOutput struct {
	Insights []InsightResult `json:"insights"`
}

// Tools are the search tools AgentScope's MCP server offers.
type Tools struct {
	Router *Router
	// Index is the Splunk index the insights search (empty: the role's
	// default indexes).
	Index string
	// Health reports the forwarder's health for splunk_health.
	Health func(ctx context.Context) agentscope.SplunkHealth
}

func ptr[T any](v T) *T { return &v }

// Register adds run_spl, splunk_insights and splunk_health to s. Pass it in
// mcpserver.Options.Extra.
func (t Tools) Register(s *mcpserver.Server) {
	mcpserver.AddTool(s, &mcp.Tool{
		Name:  "run_spl",
		Title: "Run SPL",
		Description: "Run a read-only SPL query over the organisation's recorded events and return the rows. " +
			"Fields are those of the agentscope:events JSON (type, agent, session_id, model, provider, duration_ms, tokens_in, amount_usd, tool, error, attributes.*) plus _time. " +
			"Without Splunk configured the embedded engine answers (commands: search, where, eval, stats, eventstats, timechart, bin, sort, head, tail, table, fields, rename, dedup, top, rare, fillnull, rex, spath); the same text runs unchanged in Splunk.",
		Annotations: &mcp.ToolAnnotations{Title: "Run SPL", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in RunSPLInput) (*agentscope.SearchResult, error) {
		org, err := agentscope.OrgFrom(ctx)
		if err != nil {
			return nil, err
		}
		backend := in.Backend
		if backend == "" {
			backend = t.Router.Default()
		}
		mcpserver.ReportProgress(ctx, 0.1, 1, "searching on "+backend)
		a, err := t.Router.Search(ctx, org, agentscope.SearchQuery{Query: in.Query, Earliest: in.EarliestTime, Latest: in.LatestTime, Limit: in.RowLimit, Backend: in.Backend})
		if err == nil {
			mcpserver.ReportProgress(ctx, 0.9, 1, fmt.Sprintf("%d rows from %s", len(a.Results), a.Backend))
		}
		return a, err
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "splunk_insights",
		Title:       "Operational insights",
		Description: "Run AgentScope's named operational searches: cost_by_agent, model_latency (p50/p95 by provider and model), tool_reliability (calls, error rate, p95 by tool) and runs_by_status. Each answer carries its SPL, to re-run in Splunk Web.",
		Annotations: &mcp.ToolAnnotations{Title: "Operational insights", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in InsightsInput) (InsightsOutput, error) {
		org, err := agentscope.OrgFrom(ctx)
		if err != nil {
			return InsightsOutput{}, err
		}
		res, err := t.Insights(ctx, org, in.Name, in.EarliestTime, in.LatestTime)
		return InsightsOutput{Insights: res}, err
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "splunk_health",
		Title:       "Splunk forwarding health",
		Description: "Report Splunk HEC forwarding: enabled, queue_depth, oldest_undelivered_seconds, delivered, dead_letters, last_error, last_success, paused (a configuration error such as a bad token) and HEC's own health.",
		Annotations: &mcp.ToolAnnotations{Title: "Splunk forwarding health", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, _ struct{}) (agentscope.SplunkHealth, error) {
		if _, err := agentscope.OrgFrom(ctx); err != nil {
			return agentscope.SplunkHealth{}, err
		}
		if t.Health == nil {
			return splunkbridge.DisabledHealth(), nil
		}
		return t.Health(ctx), nil
	})
}

// Insights runs the named insight (all when name is empty) for org over
// [earliest, latest] (default the last 24 hours).
func (t Tools) Insights(ctx context.Context, org, name, earliest, latest string) ([]InsightResult, error) {
	var list []splunkbridge.Insight
	if name != "" {
		in, err := splunkbridge.LookupInsight(t.Index, name)
		if err != nil {
			return nil, err
		}
		list = []splunkbridge.Insight{in}
	} else {
		var err error
		if list, err = splunkbridge.Insights(t.Index); err != nil {
			return nil, err
		}
	}
	if earliest == "" {
		earliest = "-24h"
	}
	if latest == "" {
		latest = "now"
	}
	out := make([]InsightResult, 0, len(list))
	for _, in := range list {
		a, err := t.Router.Search(ctx, org, agentscope.SearchQuery{Query: in.SPL, Earliest: earliest, Latest: latest})
		if err != nil {
			return nil, err
		}
		out = append(out, InsightResult{Insight: in, Answer: a})
	}
	return out, nil
}
