package mcpserver

import (
	"context"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// addSearchTools registers run_spl, splunk_insights and splunk_health when
// the service has search configured (service.SearchOptions).
func (s *Server) addSearchTools() {
	if !s.svc.Searching() {
		return
	}
	addTool(s, &mcp.Tool{
		Name:  "run_spl",
		Title: "Run SPL",
		Description: "Run a read-only SPL query over the organisation's recorded events and return the rows. " +
			"Fields are those of the agentscope:events JSON (type, agent, session_id, model, provider, duration_ms, tokens_in, amount_usd, tool, error, attributes.*) plus _time. " +
			"Without Splunk configured the embedded engine answers (commands: search, where, eval, stats, eventstats, timechart, bin, sort, head, tail, table, fields, rename, dedup, top, rare, fillnull, rex, spath); the same text runs unchanged in Splunk.",
		Annotations: &mcp.ToolAnnotations{Title: "Run SPL", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.RunSPLInput) (*agentscope.SearchResult, error) {
		if _, err := agentscope.Authorize(ctx, agentscope.ActionSearch); err != nil {
			return nil, err
		}
		reportProgress(ctx, 0.1, 1, "searching on "+s.svc.SearchBackend(in.Backend))
		a, err := s.svc.RunSPL(ctx, in)
		if err == nil {
			reportProgress(ctx, 0.9, 1, fmt.Sprintf("%d rows from %s", len(a.Results), a.Backend))
		}
		return a, err
	})
	addTool(s, &mcp.Tool{
		Name:        "splunk_insights",
		Title:       "Operational insights",
		Description: "Run AgentScope's named operational searches: cost_by_agent, model_latency (p50/p95 by provider and model), tool_reliability (calls, error rate, p95 by tool) and runs_by_status. Each answer carries its SPL, to re-run in Splunk Web.",
		Annotations: &mcp.ToolAnnotations{Title: "Operational insights", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, s.svc.RunInsights)
	addTool(s, &mcp.Tool{
		Name:        "splunk_health",
		Title:       "Splunk forwarding health",
		Description: "Report Splunk HEC forwarding: enabled, queue_depth, oldest_undelivered_seconds, delivered, dead_letters, last_error, last_success, paused (a configuration error such as a bad token) and HEC's own health.",
		Annotations: &mcp.ToolAnnotations{Title: "Splunk forwarding health", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, _ struct{}) (agentscope.SplunkHealth, error) {
		return s.svc.SplunkHealth(ctx)
	})
}
