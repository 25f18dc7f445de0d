package runtime

import (
	"context"
	"encoding/json"

	"github.com/agentscope/agentscope"
)

// The operations on agent definitions and budgets. The MCP tools, the HTTP
// API and the CLI all call these, with the caller's organisation in ctx.

// ListAgents lists the organisation's agents, external and managed.
func (rt *Runtime) ListAgents(ctx context.Context) ([]agentscope.Agent, error) {
	org, err := rt.orgOf(ctx)
	if err != nil {
		return nil, err
	}
	return rt.store.ListAgents(ctx, org)
}

// GetAgent returns one agent.
func (rt *Runtime) GetAgent(ctx context.Context, name string) (agentscope.Agent, error) {
	org, err := rt.orgOf(ctx)
	if err != nil {
		return agentscope.Agent{}, err
	}
	if err := agentscope.ValidateAgentName(name); err != nil {
		return agentscope.Agent{}, err
	}
	return rt.store.GetAgent(ctx, org, name)
}

// CreateAgent creates a managed agent from a definition, or returns
// ECONFLICT if the name is taken.
func (rt *Runtime) CreateAgent(ctx context.Context, name string, def json.RawMessage) (agentscope.Agent, error) {
	org, err := rt.orgOf(ctx)
	if err != nil {
		return agentscope.Agent{}, err
	}
	if err := agentscope.ValidateAgentName(name); err != nil {
		return agentscope.Agent{}, err
	}
	spec, err := ParseSpec(def)
	if err != nil {
		return agentscope.Agent{}, err
	}
	return rt.store.CreateAgent(ctx, agentscope.Agent{OrgID: org, Name: name, Kind: agentscope.AgentManaged, Spec: spec.canonical()})
}

// UpdateAgent replaces an existing agent's definition; an external agent
// given a definition becomes managed. It returns ENOTFOUND for an unknown
// agent.
func (rt *Runtime) UpdateAgent(ctx context.Context, name string, def json.RawMessage) (agentscope.Agent, error) {
	org, err := rt.orgOf(ctx)
	if err != nil {
		return agentscope.Agent{}, err
	}
	if err := agentscope.ValidateAgentName(name); err != nil {
		return agentscope.Agent{}, err
	}
	spec, err := ParseSpec(def)
	if err != nil {
		return agentscope.Agent{}, err
	}
	if _, err := rt.store.GetAgent(ctx, org, name); err != nil {
		return agentscope.Agent{}, err
	}
	a := agentscope.Agent{OrgID: org, Name: name, Kind: agentscope.AgentManaged, Spec: spec.canonical()}
	if err := rt.store.PutAgent(ctx, a); err != nil {
		return agentscope.Agent{}, err
	}
	return rt.store.GetAgent(ctx, org, name)
}

// SetBudget creates or replaces the budget of an agent for a period.
func (rt *Runtime) SetBudget(ctx context.Context, b agentscope.AgentCostBudget) (agentscope.AgentCostBudget, error) {
	org, err := rt.orgOf(ctx)
	if err != nil {
		return b, err
	}
	b.OrgID = org
	return rt.store.PutBudget(ctx, b)
}

// DeleteBudget removes an agent's budget for a period.
func (rt *Runtime) DeleteBudget(ctx context.Context, agent string, period agentscope.BudgetPeriod) error {
	org, err := rt.orgOf(ctx)
	if err != nil {
		return err
	}
	return rt.store.DeleteBudget(ctx, org, agent, period)
}

// GetBudgets returns the organisation's budgets (only agent's if it is not
// empty) with the spend of their current period.
func (rt *Runtime) GetBudgets(ctx context.Context, agent string) ([]agentscope.BudgetStatus, error) {
	org, err := rt.orgOf(ctx)
	if err != nil {
		return nil, err
	}
	bs, err := rt.store.ListBudgets(ctx, org, agent)
	if err != nil {
		return nil, err
	}
	now := rt.now()
	out := make([]agentscope.BudgetStatus, 0, len(bs))
	for _, b := range bs {
		since := b.Period.Start(now)
		spent, err := rt.store.AgentSpend(ctx, org, b.Agent, since)
		if err != nil {
			return nil, err
		}
		out = append(out, agentscope.BudgetStatus{AgentCostBudget: b, PeriodStart: since, SpentUSD: spent, Exceeded: spent >= b.LimitUSD})
	}
	return out, nil
}

// StreamTokens calls fn with each token streamed by the session's model
// calls in this process, until ctx ends or fn fails. subscribed, if not
// nil, is called once the subscription is in place, before any token.
func (rt *Runtime) StreamTokens(ctx context.Context, sessionID string, subscribed func(), fn func(spanID, text string) error) error {
	org, err := agentscope.OrgFrom(ctx)
	if err != nil {
		return err
	}
	tokens, cancel := rt.tokens.Subscribe(org, sessionID)
	defer cancel()
	if subscribed != nil {
		subscribed()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-tokens:
			if err := fn(t.SpanID, t.Text); err != nil {
				return err
			}
		}
	}
}

// orgOf returns the caller's organisation, making sure its starter agents
// exist.
func (rt *Runtime) orgOf(ctx context.Context) (string, error) {
	org, err := agentscope.OrgFrom(ctx)
	if err != nil {
		return "", err
	}
	return org, rt.EnsureStarters(ctx, org)
}
