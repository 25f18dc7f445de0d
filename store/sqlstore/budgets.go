package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/agentscope/agentscope"
)

// Cost budgets (agent_budgets) and the spend they are compared with.
//
// An agent's spend in a period is the sum of runs.cost_nanos — maintained by
// Append from CostRecorded events, self-reported ones included — over the
// agent's runs created in the period. A run is charged to the period it was
// created in, even if it ends in the next; the query is a range scan of
// runs_by_agent (org_id, agent, created_at).

// PutBudget creates or replaces the budget of b.Agent for b.Period. Like
// DeleteBudget it writes its audit log entry, naming the caller in ctx, in
// the same transaction.
func (s *Store) PutBudget(ctx context.Context, b agentscope.AgentCostBudget) (agentscope.AgentCostBudget, error) {
	if err := agentscope.ValidateAgentName(b.Agent); err != nil {
		return b, err
	}
	if !b.Period.Valid() {
		return b, agentscope.FieldErrorf("period", "must be day, week or month, got %q", b.Period)
	}
	if b.LimitUSD < 0 {
		return b, agentscope.FieldErrorf("limit_usd", "must be >= 0")
	}
	now := s.now()
	err := s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, `INSERT INTO agent_budgets (org_id, agent, period, limit_nanos, hard_cap, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, agent, period) DO UPDATE SET limit_nanos = excluded.limit_nanos, hard_cap = excluded.hard_cap, updated_at = excluded.updated_at`,
			b.OrgID, b.Agent, string(b.Period), int64(b.LimitUSD), b.HardCap, micros(now), micros(now))
		if err != nil {
			return err
		}
		return s.audit(ctx, t, b.OrgID, agentscope.ActorFrom(ctx), agentscope.AuditBudgetSet, b.Agent,
			map[string]any{"period": b.Period, "limit_usd": b.LimitUSD, "hard_cap": b.HardCap})
	})
	if err != nil {
		return b, fmt.Errorf("put budget %s/%s: %w", b.Agent, b.Period, err)
	}
	b.UpdatedAt = now
	return b, nil
}

// DeleteBudget removes the budget of agent for period, or returns ENOTFOUND.
func (s *Store) DeleteBudget(ctx context.Context, orgID, agent string, period agentscope.BudgetPeriod) error {
	var n int64
	err := s.inTx(ctx, func(t tx) error {
		res, err := t.exec(ctx, `DELETE FROM agent_budgets WHERE org_id = ? AND agent = ? AND period = ?`, orgID, agent, string(period))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.audit(ctx, t, orgID, agentscope.ActorFrom(ctx), agentscope.AuditBudgetDeleted, agent, map[string]any{"period": period})
	})
	if err != nil {
		return fmt.Errorf("delete budget %s/%s: %w", agent, period, err)
	}
	if n == 0 {
		return agentscope.Errorf(agentscope.ENOTFOUND, "agent %q has no %s budget", agent, period)
	}
	return nil
}

// ListBudgets returns the organisation's budgets by agent and period, or
// only agent's when agent is not empty.
func (s *Store) ListBudgets(ctx context.Context, orgID, agent string) ([]agentscope.AgentCostBudget, error) {
	q := `SELECT org_id, agent, period, limit_nanos, hard_cap, updated_at FROM agent_budgets WHERE org_id = ?`
	args := []any{orgID}
	if agent != "" {
		q += ` AND agent = ?`
		args = append(args, agent)
	}
	rows, err := s.query(ctx, q+` ORDER BY agent, period`, args...)
	if err != nil {
		return nil, fmt.Errorf("list budgets: %w", err)
	}
	return scanBudgets(rows)
}

// listBudgetsTx is ListBudgets inside a transaction.
func listBudgetsTx(ctx context.Context, t tx, orgID, agent string) ([]agentscope.AgentCostBudget, error) {
	rows, err := t.query(ctx, `SELECT org_id, agent, period, limit_nanos, hard_cap, updated_at FROM agent_budgets WHERE org_id = ? AND agent = ? ORDER BY period`, orgID, agent)
	if err != nil {
		return nil, fmt.Errorf("list budgets: %w", err)
	}
	return scanBudgets(rows)
}

func scanBudgets(rows *sql.Rows) ([]agentscope.AgentCostBudget, error) {
	defer rows.Close()
	out := []agentscope.AgentCostBudget{}
	for rows.Next() {
		var (
			b              agentscope.AgentCostBudget
			period         string
			limit, updated int64
		)
		if err := rows.Scan(&b.OrgID, &b.Agent, &period, &limit, &b.HardCap, &updated); err != nil {
			return nil, fmt.Errorf("scan budget: %w", err)
		}
		b.Period, b.LimitUSD, b.UpdatedAt = agentscope.BudgetPeriod(period), agentscope.USD(limit), fromMicros(updated)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list budgets: %w", err)
	}
	return out, nil
}

// AgentSpend returns the summed cost of agent's runs created at or after
// since.
func (s *Store) AgentSpend(ctx context.Context, orgID, agent string, since time.Time) (agentscope.USD, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT CAST(COALESCE(SUM(cost_nanos), 0) AS BIGINT) FROM runs WHERE org_id = ? AND agent = ? AND created_at >= ?`,
		orgID, agent, micros(since)).Scan(&n)
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return agentscope.USD(n), nil
	}
	// The database refuses a sum beyond int64 (SQLite: integer overflow;
	// Postgres: bigint out of range). A spend that large is over every
	// budget, so sum the rows here, saturating, instead of failing the
	// budget check that stops a runaway agent.
	spend, serr := s.agentSpendSaturating(ctx, orgID, agent, since)
	if serr != nil {
		return 0, fmt.Errorf("agent spend %s: %w", agent, errors.Join(err, serr))
	}
	return spend, nil
}

// agentSpendSaturating sums agent's run costs in Go, stopping at the largest
// USD instead of wrapping.
func (s *Store) agentSpendSaturating(ctx context.Context, orgID, agent string, since time.Time) (agentscope.USD, error) {
	rows, err := s.query(ctx, `SELECT cost_nanos FROM runs WHERE org_id = ? AND agent = ? AND created_at >= ?`, orgID, agent, micros(since))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var total agentscope.USD
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			return 0, err
		}
		sum, ok := agentscope.AddUSD(total, agentscope.USD(c))
		if !ok {
			return agentscope.USD(math.MaxInt64), nil
		}
		total = sum
	}
	return total, rows.Err()
}
