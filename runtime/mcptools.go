package runtime

import (
	"context"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
)

// AgentInput is the input of create_agent and update_agent.
type AgentInput struct {
	Name       string `json:"name" jsonschema:"the agent's name, matching ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"`
	Definition Spec   `json:"definition" jsonschema:"the managed agent's definition"`
}

// AgentsOutput is list_agents' result.
type AgentsOutput struct {
	Agents []agentscope.Agent `json:"agents"`
}

// BudgetInput is the input of set_budget.
type BudgetInput struct {
	Agent    string         `json:"agent" jsonschema:"the agent the budget limits"`
	Period   string         `json:"period" jsonschema:"day, week or month (UTC calendar periods; weeks start on Monday)"`
	LimitUSD agentscope.USD `json:"limit_usd" jsonschema:"the most the agent may spend per period, in US dollars"`
	HardCap  bool           `json:"hard_cap,omitempty" jsonschema:"true refuses new runs and stops running ones at the limit; false only records BudgetWarning events"`
}

// GetBudgetsInput is the input of get_budgets.
type GetBudgetsInput struct {
	Agent string `json:"agent,omitempty" jsonschema:"only this agent's budgets"`
}

// BudgetsOutput is get_budgets' result.
type BudgetsOutput struct {
	Budgets []agentscope.BudgetStatus `json:"budgets"`
}

// SearchInput is the input of splunk_context_search.
type SearchInput struct {
	Query    string `json:"query" jsonschema:"SPL, e.g. search type=CostRecorded | stats sum(amount_usd) by model"`
	Earliest string `json:"earliest,omitempty" jsonschema:"start of the time range, e.g. -24h (default -24h)"`
	Latest   string `json:"latest,omitempty" jsonschema:"end of the time range, e.g. now (default now)"`
	Limit    int    `json:"limit,omitempty" jsonschema:"most rows to return, 1 to 1000 (default 100)"`
}

// SearchOutput is splunk_context_search's result.
type SearchOutput struct {
	Rows  []map[string]any `json:"rows"`
	Count int              `json:"count"`
}

func ptr[T any](v T) *T { return &v }

// Register adds the runtime's tools to an MCP server: list_agents,
// create_agent, update_agent, set_budget, get_budgets and
// splunk_context_search. Pass it in mcpserver.Options.Extra.
func (rt *Runtime) Register(s *mcpserver.Server) {
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "list_agents",
		Title:       "List agents",
		Description: "List the organisation's agents: external ones (self-reporting) and managed ones with their definitions (model, system prompt, tools, limits). Every organisation starts with the managed agents cost-analyst, reliability and research.",
		Annotations: &mcp.ToolAnnotations{Title: "List agents", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, _ struct{}) (AgentsOutput, error) {
		agents, err := rt.ListAgents(ctx)
		return AgentsOutput{Agents: agents}, err
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "create_agent",
		Title:       "Create a managed agent",
		Description: "Create a managed agent that AgentScope executes: start_run with its name queues a run for a worker. The definition holds the model, system prompt, tools and limits; API keys are never put in it (providers name the environment variable holding theirs).",
		Annotations: &mcp.ToolAnnotations{Title: "Create a managed agent", DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in AgentInput) (agentscope.Agent, error) {
		return rt.CreateAgent(ctx, in.Name, in.Definition.canonical())
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "update_agent",
		Title:       "Update an agent's definition",
		Description: "Replace an agent's definition. Runs already queued use the new definition when they start.",
		Annotations: &mcp.ToolAnnotations{Title: "Update an agent", DestructiveHint: ptr(true), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in AgentInput) (agentscope.Agent, error) {
		return rt.UpdateAgent(ctx, in.Name, in.Definition.canonical())
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "set_budget",
		Title:       "Set an agent's cost budget",
		Description: "Set what an agent may spend per day, week or month (UTC). With hard_cap, runs of the agent are refused once its spend plus what its unfinished runs reserved reaches the limit, and a running run stops before its next model call; without, BudgetWarning events are recorded. Spend includes self-reported costs of external agents.",
		Annotations: &mcp.ToolAnnotations{Title: "Set a budget", DestructiveHint: ptr(false), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in BudgetInput) (agentscope.AgentCostBudget, error) {
		return rt.SetBudget(ctx, agentscope.AgentCostBudget{Agent: in.Agent, Period: agentscope.BudgetPeriod(in.Period), LimitUSD: in.LimitUSD, HardCap: in.HardCap})
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "get_budgets",
		Title:       "Get cost budgets",
		Description: "List the agents' cost budgets with what each agent has spent in the current period.",
		Annotations: &mcp.ToolAnnotations{Title: "Get budgets", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in GetBudgetsInput) (BudgetsOutput, error) {
		bs, err := rt.GetBudgets(ctx, in.Agent)
		return BudgetsOutput{Budgets: bs}, err
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "splunk_context_search",
		Title:       "Search operational data with SPL",
		Description: "Run an SPL search over the organisation's data (Splunk when configured, else AgentScope's own event log) and return the result rows. Keep searches bounded with earliest/latest and limit.",
		Annotations: &mcp.ToolAnnotations{Title: "Search with SPL", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(true)},
	}, func(ctx context.Context, in SearchInput) (SearchOutput, error) {
		return rt.search(ctx, in)
	})
}

// search runs splunk_context_search for the caller's organisation.
func (rt *Runtime) search(ctx context.Context, in SearchInput) (SearchOutput, error) {
	org, err := agentscope.OrgFrom(ctx)
	if err != nil {
		return SearchOutput{}, err
	}
	if strings.TrimSpace(in.Query) == "" {
		return SearchOutput{}, agentscope.FieldErrorf("query", "is required")
	}
	if in.Limit == 0 {
		in.Limit = 100
	}
	if in.Limit < 0 || in.Limit > 1000 {
		return SearchOutput{}, agentscope.FieldErrorf("limit", "must be between 1 and 1000")
	}
	if in.Earliest == "" {
		in.Earliest = "-24h"
	}
	if in.Latest == "" {
		in.Latest = "now"
	}
	if rt.opts.Searcher == nil {
		return SearchOutput{}, agentscope.Errorf(agentscope.EUNAVAILABLE, "splunk_context_search is not available: no Splunk connection and no embedded search engine is configured in this AgentScope process")
	}
	res, err := rt.opts.Searcher.Search(ctx, org, agentscope.SearchQuery{Query: in.Query, Earliest: in.Earliest, Latest: in.Latest, Limit: in.Limit})
	if err != nil {
		if code := agentscope.ErrorCode(err); code != agentscope.EINTERNAL {
			return SearchOutput{}, err
		}
		// The backend failed: the model is told so, in terms it can act on.
		return SearchOutput{}, agentscope.Errorf(agentscope.EUNAVAILABLE, "the search backend failed: %v", err)
	}
	rows := res.Results
	if rows == nil {
		rows = []map[string]any{}
	}
	return SearchOutput{Rows: rows, Count: len(rows)}, nil
}
