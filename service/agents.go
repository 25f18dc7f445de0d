package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
)

// Agent and budget administration: managed agents' definitions (a
// runtime.Spec each), every organisation's starter agents, and agents'
// cost budgets with their current spend. The MCP tools, the HTTP API and
// the CLI all call these, with the caller's organisation in ctx.

// AgentStore keeps agents' definitions and budgets beside the event log.
// *sqlstore.Store implements it.
type AgentStore interface {
	// OrgIDs lists the organisations the store knows.
	OrgIDs(ctx context.Context) ([]string, error)
	// CreateAgent stores a new agent, or returns ECONFLICT.
	CreateAgent(ctx context.Context, a agentscope.Agent) (agentscope.Agent, error)
	PutBudget(ctx context.Context, b agentscope.AgentCostBudget) (agentscope.AgentCostBudget, error)
	DeleteBudget(ctx context.Context, orgID, agent string, period agentscope.BudgetPeriod) error
	ListBudgets(ctx context.Context, orgID, agent string) ([]agentscope.AgentCostBudget, error)
	// AgentSpend is what the agent's sessions have cost since since.
	AgentSpend(ctx context.Context, orgID, agent string, since time.Time) (agentscope.USD, error)
}

// RegisterAgentInput is the input of register_agent.
type RegisterAgentInput struct {
	Name string `json:"name" jsonschema:"the external agent's name, as its runs will give it (start_run's agent), matching ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"`
}

// AgentInput is the input of create_agent and update_agent.
type AgentInput struct {
	Name       string       `json:"name" jsonschema:"the agent's name, matching ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"`
	Definition runtime.Spec `json:"definition" jsonschema:"the managed agent's definition"`
}

// BudgetInput is the input of set_budget.
type BudgetInput struct {
	Agent    string         `json:"agent" jsonschema:"the agent the budget limits: one of the organisation's (list_agents), managed or external (an external agent is known once registered with register_agent or once it has started a run)"`
	Period   string         `json:"period" jsonschema:"day, week or month (UTC calendar periods; weeks start on Monday)"`
	LimitUSD agentscope.USD `json:"limit_usd" jsonschema:"the most the agent may spend per period, in US dollars"`
	HardCap  bool           `json:"hard_cap,omitempty" jsonschema:"true: once the period's spend reaches the limit, new runs and LLM gateway calls are refused and managed runs in flight stop (a self-reported run already under way is not stopped); false only records BudgetWarning events"`
}

// GetBudgetsInput is the input of get_budgets.
type GetBudgetsInput struct {
	Agent string `json:"agent,omitempty" jsonschema:"only this agent's budgets"`
}

// starterSet remembers the organisations whose starter agents exist.
type starterSet struct {
	mu      sync.Mutex
	ensured map[string]bool
}

// ListAgents lists the organisation's agents by name, external and
// managed: list_agents, GET /api/v1/agents, the pages and the CLI.
func (s *Service) ListAgents(ctx context.Context) ([]agentscope.Agent, error) {
	org, err := s.orgOf(ctx, agentscope.ActionRead)
	if err != nil {
		return nil, err
	}
	return s.store.ListAgents(ctx, org)
}

// GetAgent returns one agent, or ENOTFOUND.
func (s *Service) GetAgent(ctx context.Context, name string) (agentscope.Agent, error) {
	org, err := s.orgOf(ctx, agentscope.ActionRead)
	if err != nil {
		return agentscope.Agent{}, err
	}
	if err := agentscope.ValidateAgentName(name); err != nil {
		return agentscope.Agent{}, err
	}
	return s.store.GetAgent(ctx, org, name)
}

// CreateAgent creates a managed agent from a definition, or returns
// ECONFLICT if the name is taken.
func (s *Service) CreateAgent(ctx context.Context, name string, def json.RawMessage) (agentscope.Agent, error) {
	a, err := s.managedAgent(ctx, name, def)
	if err != nil {
		return agentscope.Agent{}, err
	}
	return s.agents.CreateAgent(ctx, a)
}

// RegisterAgent records an external agent, one that runs elsewhere and
// reports its own runs, before its first run, so that a budget (a hard cap
// above all) can hold it from that run on; its first start_run would
// otherwise be what makes it known. It returns ECONFLICT if the
// organisation has an agent of that name, managed or external.
func (s *Service) RegisterAgent(ctx context.Context, name string) (agentscope.Agent, error) {
	org, err := s.adminOrg(ctx, agentscope.ActionManageAgents)
	if err != nil {
		return agentscope.Agent{}, err
	}
	if err := agentscope.ValidateAgentName(name); err != nil {
		return agentscope.Agent{}, err
	}
	return s.agents.CreateAgent(ctx, agentscope.Agent{OrgID: org, Name: name, Kind: agentscope.AgentExternal})
}

// UpdateAgent replaces an existing agent's definition; an external agent
// given a definition becomes managed. It returns ENOTFOUND for an unknown
// agent.
func (s *Service) UpdateAgent(ctx context.Context, name string, def json.RawMessage) (agentscope.Agent, error) {
	a, err := s.managedAgent(ctx, name, def)
	if err != nil {
		return agentscope.Agent{}, err
	}
	if _, err := s.store.GetAgent(ctx, a.OrgID, name); err != nil {
		return agentscope.Agent{}, err
	}
	if err := s.store.PutAgent(ctx, a); err != nil {
		return agentscope.Agent{}, err
	}
	return s.store.GetAgent(ctx, a.OrgID, name)
}

// managedAgent is the caller's managed agent name with the definition def,
// validated, as stored.
func (s *Service) managedAgent(ctx context.Context, name string, def json.RawMessage) (agentscope.Agent, error) {
	org, err := s.adminOrg(ctx, agentscope.ActionManageAgents)
	if err != nil {
		return agentscope.Agent{}, err
	}
	if err := agentscope.ValidateAgentName(name); err != nil {
		return agentscope.Agent{}, err
	}
	spec, err := runtime.ParseSpec(def)
	if err != nil {
		return agentscope.Agent{}, err
	}
	if len(spec.Tools) > 0 && s.launcher != nil {
		have, err := s.launcher.AgentTools(ctx, org)
		if err != nil {
			return agentscope.Agent{}, err
		}
		for i, name := range spec.Tools {
			if !slices.Contains(have, name) {
				if len(have) == 0 {
					return agentscope.Agent{}, agentscope.FieldErrorf(fmt.Sprintf("definition.tools[%d]", i), "names %q, but this AgentScope offers agents none of its tools", name)
				}
				return agentscope.Agent{}, agentscope.FieldErrorf(fmt.Sprintf("definition.tools[%d]", i), "names %q, which is not one of the tools agents may have: %s", name, strings.Join(have, ", "))
			}
		}
	}
	return agentscope.Agent{OrgID: org, Name: name, Kind: agentscope.AgentManaged, Spec: spec.Canonical()}, nil
}

// SetBudget creates or replaces the budget of an agent of the caller's
// organisation for a period. An agent the organisation does not have (a
// mistyped name, another organisation's agent) is refused as not found,
// rather than given a budget that would limit nothing: a managed agent
// exists once created, an external one once registered (RegisterAgent) or
// once it has started a run.
func (s *Service) SetBudget(ctx context.Context, b agentscope.AgentCostBudget) (agentscope.AgentCostBudget, error) {
	org, err := s.adminOrg(ctx, agentscope.ActionManageBudgets)
	if err != nil {
		return b, err
	}
	b.OrgID = org
	if err := agentscope.ValidateAgentName(b.Agent); err != nil {
		return b, err
	}
	if _, err := s.store.GetAgent(ctx, org, b.Agent); agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return b, agentscope.Errorf(agentscope.ENOTFOUND, "agent %q not found: a budget is set on an agent of this organisation, a managed one once created or an external one once registered or once it has started a run", b.Agent)
	} else if err != nil {
		return b, err
	}
	return s.agents.PutBudget(ctx, b)
}

// DeleteBudget removes an agent's budget for a period.
func (s *Service) DeleteBudget(ctx context.Context, agent string, period agentscope.BudgetPeriod) error {
	org, err := s.adminOrg(ctx, agentscope.ActionManageBudgets)
	if err != nil {
		return err
	}
	return s.agents.DeleteBudget(ctx, org, agent, period)
}

// GetBudgets returns the organisation's budgets (only agent's if it is not
// empty) with the spend of their current period.
func (s *Service) GetBudgets(ctx context.Context, agent string) ([]agentscope.BudgetStatus, error) {
	org, err := s.adminOrg(ctx, agentscope.ActionRead)
	if err != nil {
		return nil, err
	}
	bs, err := s.agents.ListBudgets(ctx, org, agent)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]agentscope.BudgetStatus, 0, len(bs))
	for _, b := range bs {
		since := b.Period.Start(now)
		spent, err := s.agents.AgentSpend(ctx, org, b.Agent, since)
		if err != nil {
			return nil, err
		}
		out = append(out, agentscope.BudgetStatus{AgentCostBudget: b, PeriodStart: since, SpentUSD: spent, Exceeded: spent >= b.LimitUSD})
	}
	return out, nil
}

// orgOf returns the caller's organisation when it may take action a
// (agentscope.Authorize), making sure its starter agents exist when the
// service keeps agents.
func (s *Service) orgOf(ctx context.Context, a agentscope.Action) (string, error) {
	org, err := agentscope.Authorize(ctx, a)
	if err != nil {
		return "", err
	}
	return org, s.PrepareOrg(ctx, org)
}

// adminOrg is orgOf for the calls that change or read what only the agent
// store keeps: they fail with EUNAVAILABLE when the service keeps no
// agents.
func (s *Service) adminOrg(ctx context.Context, a agentscope.Action) (string, error) {
	if s.agents == nil {
		return "", agentscope.Errorf(agentscope.EUNAVAILABLE, "agent and budget administration is not available in this process")
	}
	return s.orgOf(ctx, a)
}
