package mcpserver

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// AgentsOutput is list_agents' result.
type AgentsOutput struct {
	Agents []agentscope.Agent `json:"agents"`
}

// BudgetsOutput is get_budgets' result.
type BudgetsOutput struct {
	Budgets []agentscope.BudgetStatus `json:"budgets"`
}

// addAgentTools adds list_agents, create_agent, register_agent, update_agent, set_budget
// and get_budgets: the service's agent and budget administration, which
// answers that it is not available when the service keeps no agents.
func (s *Server) addAgentTools() {
	addTool(s, &mcp.Tool{
		Name:        "list_agents",
		Title:       "List agents",
		Description: "List the organisation's agents: external ones (self-reporting) and managed ones with their definitions (model, system prompt, tools, limits). Every organisation starts with the managed agents cost-analyst, reliability and research.",
		Annotations: &mcp.ToolAnnotations{Title: "List agents", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, _ struct{}) (AgentsOutput, error) {
		agents, err := s.svc.ListAgents(ctx)
		return AgentsOutput{Agents: agents}, err
	})
	addTool(s, &mcp.Tool{
		Name:        "create_agent",
		Title:       "Create a managed agent",
		Description: "Create a managed agent that AgentScope executes: start_run with its name queues a run for a worker. The definition holds the model, system prompt, tools and limits; API keys are never put in it (providers name the environment variable holding theirs).",
		Annotations: &mcp.ToolAnnotations{Title: "Create a managed agent", DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.AgentInput) (agentscope.Agent, error) {
		return s.svc.CreateAgent(ctx, in.Name, in.Definition.Canonical())
	})
	addTool(s, &mcp.Tool{
		Name:        "register_agent",
		Title:       "Register an external agent",
		Description: "Register an external agent (one that runs elsewhere and records its own runs with start_run) before its first run, so that set_budget can cap it from that first run on. Without this, an external agent becomes known when it first starts a run.",
		Annotations: &mcp.ToolAnnotations{Title: "Register an external agent", DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.RegisterAgentInput) (agentscope.Agent, error) {
		return s.svc.RegisterAgent(ctx, in.Name)
	})
	addTool(s, &mcp.Tool{
		Name:        "update_agent",
		Title:       "Update an agent's definition",
		Description: "Replace an agent's definition. Runs already queued use the new definition when they start.",
		Annotations: &mcp.ToolAnnotations{Title: "Update an agent", DestructiveHint: ptr(true), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.AgentInput) (agentscope.Agent, error) {
		return s.svc.UpdateAgent(ctx, in.Name, in.Definition.Canonical())
	})
	addTool(s, &mcp.Tool{
		Name:        "set_budget",
		Title:       "Set an agent's cost budget",
		Description: "Set what an agent may spend per day, week or month (UTC). With hard_cap, runs of the agent are refused once its spend plus what its unfinished runs reserved reaches the limit, and a running run stops before its next model call; without, BudgetWarning events are recorded. Spend includes self-reported costs of external agents.",
		Annotations: &mcp.ToolAnnotations{Title: "Set a budget", DestructiveHint: ptr(false), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.BudgetInput) (agentscope.AgentCostBudget, error) {
		return s.svc.SetBudget(ctx, agentscope.AgentCostBudget{Agent: in.Agent, Period: agentscope.BudgetPeriod(in.Period), LimitUSD: in.LimitUSD, HardCap: in.HardCap})
	})
	addTool(s, &mcp.Tool{
		Name:        "get_budgets",
		Title:       "Get cost budgets",
		Description: "List the agents' cost budgets with what each agent has spent in the current period.",
		Annotations: &mcp.ToolAnnotations{Title: "Get budgets", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.GetBudgetsInput) (BudgetsOutput, error) {
		bs, err := s.svc.GetBudgets(ctx, in.Agent)
		return BudgetsOutput{Budgets: bs}, err
	})
}

// addContextSearch adds splunk_context_search, the search managed agents
// are given: the service's ContextSearch.
func (s *Server) addContextSearch() {
	addTool(s, &mcp.Tool{
		Name:        "splunk_context_search",
		Title:       "Search operational data with SPL",
		Description: "Run an SPL search over the organisation's data (Splunk when configured, else AgentScope's own event log) and return the result rows. Keep searches bounded with earliest/latest and limit.",
		Annotations: &mcp.ToolAnnotations{Title: "Search with SPL", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(true)},
	}, func(ctx context.Context, in service.ContextSearchInput) (service.ContextSearchOutput, error) {
		return s.svc.ContextSearch(ctx, in)
	})
}
