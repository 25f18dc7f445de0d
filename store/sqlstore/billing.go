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

// Billing: each organisation's plan (orgs.plan) and its stored events per
// billing period (org_usage), migration 050. The count is kept by the
// append that stores the events, in its transaction, and only while
// Options.Usage is set; with it unset (billing off) appends neither read
// nor write it. The plans themselves are shared through the database
// (billing_plans, migration 100): see PublishPlans.

// UsagePolicy is what the store needs of the billing plans to count and
// limit events (billing.Plans implements it).
type UsagePolicy interface {
	// Period names the billing period t falls in.
	Period(t time.Time) string
	// EventLimit returns how many events an organisation on plan may
	// store in one period, its overage allowance included; ok is false
	// when the plan sets no limit.
	EventLimit(plan string) (limit int64, ok bool)
	// DefaultPlan is the plan new organisations start on; an
	// organisation whose plan is "" is on it.
	DefaultPlan() string
}

// LimitAdvisor is a UsagePolicy that says how an organisation gets
// past a limit of its plan (billing.Plans implements it): with Stripe,
// its owners upgrade on the Billing page; without, the operator moves it
// to another plan. A policy without it gets advice naming both.
type LimitAdvisor interface {
	LimitAdvice() string
}

// defaultLimitAdvice is the advice of a policy that gives none.
const defaultLimitAdvice = "upgrade the plan on the Billing page (owners), or ask the operator (agentscope billing set-plan)"

// limitAdvice returns policy's advice on getting past a limit.
func limitAdvice(policy UsagePolicy) string {
	if a, ok := policy.(LimitAdvisor); ok {
		if advice := a.LimitAdvice(); advice != "" {
			return advice
		}
	}
	return defaultLimitAdvice
}

// orgUsage is one organisation's usage row as a batch sees it: locked
// until the batch commits.
type orgUsage struct {
	plan    string
	used    int64 // stored before this batch
	added   int64 // stored by this batch's requests that passed
	limit   int64
	limited bool
	advice  string // how to get past the limit (LimitAdvisor)
}

// EventLimitError is the error of an event refused because its
// organisation's plan allows no more events this period.
func EventLimitError(plan, period string, limit, used int64) error {
	return EventLimitErrorAdvice(plan, period, limit, used, defaultLimitAdvice)
}

// EventLimitErrorAdvice is EventLimitError ending with advice on how to
// get past the limit (LimitAdvisor).
func EventLimitErrorAdvice(plan, period string, limit, used int64, advice string) error {
	return agentscope.Errorf(agentscope.EPLANLIMIT,
		"this organisation's plan %q allows %d events in period %s and %d are stored: the event is refused (nothing of what was stored before is lost); %s",
		plan, limit, period, used, advice)
}

// lockUsage returns the statements that make sure each organisation of
// the batch has its usage row for period and read them, with the
// organisations' plans, into b.usage, locking the rows (on Postgres) in
// organisation order until the batch commits: concurrent batches of one
// organisation, in any process, take turns, so none can store an event
// past the limit another has already reached.
func (s *Store) lockUsage(keys []runKey, policy UsagePolicy, now time.Time, b *batch) []Stmt {
	period := policy.Period(now)
	advice := limitAdvice(policy)
	var orgs []string
	for _, k := range keys { // sorted by organisation
		if len(orgs) == 0 || orgs[len(orgs)-1] != k.org {
			orgs = append(orgs, k.org)
		}
	}
	b.usage = make(map[string]*orgUsage, len(orgs))
	b.period = period
	read := func(rows Rows) error {
		for rows.Next() {
			var (
				org string
				u   orgUsage
			)
			if err := rows.Scan(&org, &u.used, &u.plan); err != nil {
				return fmt.Errorf("lock usage: %w", err)
			}
			if u.plan == "" {
				u.plan = policy.DefaultPlan()
			}
			u.limit, u.limited = policy.EventLimit(u.plan)
			u.advice = advice
			b.usage[org] = &u
		}
		return nil
	}
	lock := ""
	if s.d.LockSuffix != "" {
		lock = " FOR UPDATE OF u"
	}
	if s.d.ArrayParams {
		return []Stmt{
			{SQL: s.d.rebind(`INSERT INTO org_usage (org_id, period, events) SELECT o, ?, 0 FROM unnest(?::text[]) AS o ORDER BY o ON CONFLICT (org_id, period) DO NOTHING`),
				Args: []any{period, orgs}},
			{SQL: s.d.rebind(`SELECT u.org_id, u.events, COALESCE(o.plan, '') FROM org_usage u LEFT JOIN orgs o ON o.id = u.org_id
				WHERE u.period = ? AND u.org_id = ANY(?::text[]) ORDER BY u.org_id` + lock),
				Args: []any{period, orgs}, Rows: read},
		}
	}
	var stmts []Stmt
	for _, org := range orgs {
		stmts = append(stmts,
			Stmt{SQL: s.d.rebind(`INSERT INTO org_usage (org_id, period, events) VALUES (?, ?, 0) ON CONFLICT (org_id, period) DO NOTHING`), Args: []any{org, period}},
			Stmt{SQL: s.d.rebind(`SELECT u.org_id, u.events, COALESCE(o.plan, '') FROM org_usage u LEFT JOIN orgs o ON o.id = u.org_id WHERE u.period = ? AND u.org_id = ?` + lock),
				Args: []any{period, org}, Rows: read})
	}
	return stmts
}

// countUsage returns the statements that add the batch's stored events to
// its organisations' usage rows.
func (s *Store) countUsage(b *batch) []Stmt {
	var stmts []Stmt
	for org, u := range b.usage {
		if u.added > 0 {
			stmts = append(stmts, Stmt{SQL: s.d.rebind(`UPDATE org_usage SET events = events + ? WHERE org_id = ? AND period = ?`),
				Args: []any{u.added, org, b.period}})
		}
	}
	return stmts
}

// defaultPlan is the plan a new organisation is stored with: the default
// while billing is on, "" (the default, whichever it will be) while off.
func (s *Store) defaultPlan() string {
	policy := s.usagePolicy()
	if policy == nil {
		return ""
	}
	return policy.DefaultPlan()
}

// usagePolicy is the policy appends count and limit events by now: the
// source's (Options.UsageSource) or Options.Usage; nil is billing off.
func (s *Store) usagePolicy() UsagePolicy {
	if s.opts.UsageSource != nil {
		return s.opts.UsageSource()
	}
	return s.opts.Usage
}

// OrgPlan returns the organisation's plan as stored: "" for the default.
func (s *Store) OrgPlan(ctx context.Context, orgID string) (string, error) {
	var plan string
	err := s.queryRow(ctx, `SELECT plan FROM orgs WHERE id = ?`, orgID).Scan(&plan)
	if errors.Is(err, sql.ErrNoRows) {
		return "", orgNotFound(orgID)
	} else if err != nil {
		return "", fmt.Errorf("get plan of organisation %s: %w", orgID, err)
	}
	return plan, nil
}

// SetOrgPlan moves the organisation to planID and records
// billing.plan_changed by actor in its audit log (detail: the plan before,
// the plan after and reason), in one transaction, and returns the plan it
// was on ("" for the default). Which plan ids exist is the caller's to
// check (billing.Plans); an unknown organisation is ENOTFOUND. Setting
// the plan it is already on changes nothing and writes no entry.
func (s *Store) SetOrgPlan(ctx context.Context, orgID, planID, actor, reason string) (previous string, err error) {
	if planID == "" {
		return "", agentscope.FieldErrorf("plan", "is required")
	}
	if actor == "" {
		return "", agentscope.Errorf(agentscope.EINVALID, "a plan change needs an actor for the audit log")
	}
	err = s.inTx(ctx, func(t tx) (err error) {
		previous, err = s.setOrgPlanTx(ctx, t, orgID, planID, actor, reason)
		return err
	})
	if err != nil {
		if agentscope.ErrorCode(err) != agentscope.EINTERNAL {
			return "", err
		}
		return "", fmt.Errorf("set plan of organisation %s: %w", orgID, err)
	}
	return previous, nil
}

// setOrgPlanTx is SetOrgPlan inside t (a Stripe event's change uses it
// in the transaction that records the event).
func (s *Store) setOrgPlanTx(ctx context.Context, t tx, orgID, planID, actor, reason string) (previous string, err error) {
	err = t.queryRow(ctx, `SELECT plan FROM orgs WHERE id = ?`+s.d.LockSuffix, orgID).Scan(&previous)
	if errors.Is(err, sql.ErrNoRows) {
		return "", orgNotFound(orgID)
	} else if err != nil {
		return "", err
	}
	if previous == planID {
		return previous, nil
	}
	if _, err := t.exec(ctx, `UPDATE orgs SET plan = ? WHERE id = ?`, planID, orgID); err != nil {
		return "", err
	}
	return previous, s.audit(ctx, t, orgID, actor, agentscope.AuditPlanChanged, orgID, map[string]any{"from": previous, "to": planID, "reason": reason})
}

// OrgEventUsage returns how many events the organisation stored in period
// while billing was on (0 for a period without any).
func (s *Store) OrgEventUsage(ctx context.Context, orgID, period string) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT events FROM org_usage WHERE org_id = ? AND period = ?`, orgID, period).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("get usage of organisation %s: %w", orgID, err)
	}
	return n, nil
}

// ManagedRunSpend returns the summed cost of the organisation's managed
// runs created at or after since (saturating at the largest amount).
func (s *Store) ManagedRunSpend(ctx context.Context, orgID string, since time.Time) (agentscope.USD, error) {
	rows, err := s.query(ctx, `SELECT cost_nanos FROM runs WHERE org_id = ? AND managed = ? AND created_at >= ?`, orgID, true, micros(since))
	if err != nil {
		return 0, fmt.Errorf("managed run spend: %w", err)
	}
	defer rows.Close()
	var total agentscope.USD
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			return 0, fmt.Errorf("managed run spend: %w", err)
		}
		sum, ok := agentscope.AddUSD(total, agentscope.USD(c))
		if !ok {
			return agentscope.USD(math.MaxInt64), nil
		}
		total = sum
	}
	return total, rows.Err()
}
