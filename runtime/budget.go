package runtime

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// Budget enforcement.
//
// Admission (evaluateAgentCostBudgets) runs inside the transaction that
// creates a run, after taking a per-agent lock (a transaction advisory lock
// on Postgres; SQLite's single writer serialises whole transactions). It
// refuses the run if, for any hard-cap budget, the agent's spend in the
// period plus what its unfinished runs have reserved and not yet spent has
// reached the limit. Each admitted run reserves an estimate of its cost: the
// definition's run_cost_estimate_usd, else the mean cost of the agent's
// runs that ended in the period. So concurrent admissions cannot jointly
// overshoot: with runs that cost no more than their estimate, spend never
// exceeds a cap by more than one run's worth (the last run admitted below
// the cap).
//
// While running, a run checks its agent's hard caps before every model call
// and stops with BudgetExceeded once the spend has reached one; after each
// priced call it records BudgetWarning, once per run and budget, when a
// soft cap has been reached.

// evaluateAgentCostBudgets admits or refuses a run of agent inside tx and
// returns the cost to reserve for it.
func (rt *Runtime) evaluateAgentCostBudgets(ctx context.Context, tx *sql.Tx, org, agent, sessionID string, spec Spec, now time.Time) (agentscope.USD, error) {
	budgets, err := rt.store.BudgetsTx(ctx, tx, org, agent)
	if err != nil {
		return 0, err
	}
	var reserve agentscope.USD
	if spec.Limits.RunCostEstimateUSD != nil {
		reserve = *spec.Limits.RunCostEstimateUSD
	}
	locked := false
	for _, b := range budgets {
		if !b.HardCap {
			continue
		}
		if !locked {
			if err := rt.store.LockAgentTx(ctx, tx, org, agent); err != nil {
				return 0, err
			}
			locked = true
		}
		since := b.Period.Start(now)
		u, err := rt.store.AgentUsageTx(ctx, tx, org, agent, since, sessionID)
		if err != nil {
			return 0, err
		}
		if spec.Limits.RunCostEstimateUSD == nil && u.FinishedRuns > 0 {
			reserve = max(reserve, u.FinishedCost/agentscope.USD(u.FinishedRuns))
		}
		if u.Spent+u.Reserved >= b.LimitUSD {
			msg := fmt.Sprintf("agent %q has reached its hard cap: spent $%s of its $%s %s budget since %s", agent, u.Spent, b.LimitUSD, b.Period, since.Format(time.RFC3339))
			if u.Reserved > 0 {
				msg += fmt.Sprintf(", with $%s more reserved by its unfinished runs", u.Reserved)
			}
			rt.opts.Metrics.Refusal("budget_hard_cap", "run_start")
			return 0, agentscope.Errorf(agentscope.EFORBIDDEN, "%s", msg)
		}
	}
	return reserve, nil
}

// softBudgetWarnings returns a BudgetWarning event for each soft budget of
// agent whose period spend has reached its limit.
func (rt *Runtime) softBudgetWarnings(ctx context.Context, org, agent string, now time.Time) ([]agentscope.Event, error) {
	budgets, err := rt.store.ListBudgets(ctx, org, agent)
	if err != nil {
		return nil, err
	}
	var out []agentscope.Event
	for _, b := range budgets {
		if b.HardCap {
			continue
		}
		spent, err := rt.store.AgentSpend(ctx, org, agent, b.Period.Start(now))
		if err != nil {
			return nil, err
		}
		if spent >= b.LimitUSD {
			out = append(out, budgetEvent(agentscope.BudgetWarning, b, spent, now))
		}
	}
	return out, nil
}

func budgetEvent(t agentscope.EventType, b agentscope.AgentCostBudget, spent agentscope.USD, now time.Time) agentscope.Event {
	kind := "soft"
	if b.HardCap {
		kind = "hard"
	}
	return agentscope.Event{Type: t, TS: now,
		Error: fmt.Sprintf("agent %q has spent $%s of its $%s %s %s budget", b.Agent, spent, b.LimitUSD, b.Period, kind),
		Attributes: map[string]any{
			"period": string(b.Period), "limit_usd": json.Number(b.LimitUSD.String()), "spent_usd": json.Number(spent.String()),
			"hard_cap": b.HardCap, "period_start": b.Period.Start(now).Format(time.RFC3339),
		}}
}

// runBudgets tracks one run's budgets between steps.
type runBudgets struct {
	budgets []agentscope.AgentCostBudget
	warned  map[agentscope.BudgetPeriod]bool
}

func (rt *Runtime) loadRunBudgets(ctx context.Context, org, agent string) (*runBudgets, error) {
	bs, err := rt.store.ListBudgets(ctx, org, agent)
	if err != nil {
		return nil, err
	}
	return &runBudgets{budgets: bs, warned: map[agentscope.BudgetPeriod]bool{}}, nil
}

// exceeded returns the BudgetExceeded event of the first hard cap the
// agent's spend has reached, or nil.
func (rt *Runtime) hardCapReached(ctx context.Context, rb *runBudgets, org string) (*agentscope.Event, error) {
	now := rt.now()
	for _, b := range rb.budgets {
		if !b.HardCap {
			continue
		}
		spent, err := rt.store.AgentSpend(ctx, org, b.Agent, b.Period.Start(now))
		if err != nil {
			return nil, err
		}
		if spent >= b.LimitUSD {
			ev := budgetEvent(agentscope.BudgetExceeded, b, spent, now)
			ev.Error += "; the run stops before its next model call"
			return &ev, nil
		}
	}
	return nil, nil
}

// softCapsReached returns BudgetWarning events for soft caps reached and
// not yet warned about in this run.
func (rt *Runtime) softCapsReached(ctx context.Context, rb *runBudgets, org string) ([]agentscope.Event, error) {
	now := rt.now()
	var out []agentscope.Event
	for _, b := range rb.budgets {
		if b.HardCap || rb.warned[b.Period] {
			continue
		}
		spent, err := rt.store.AgentSpend(ctx, org, b.Agent, b.Period.Start(now))
		if err != nil {
			return nil, err
		}
		if spent >= b.LimitUSD {
			rb.warned[b.Period] = true
			out = append(out, budgetEvent(agentscope.BudgetWarning, b, spent, now))
		}
	}
	return out, nil
}
