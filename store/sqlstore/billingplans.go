package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// The billing plans shared through the database (billing_plans, migration
// 100): one process publishes the plans it was configured with, every
// process opening the database reads them (billing.Shared), so that none
// stores events uncounted because it was started without the plans file.

// PublishedPlans returns the plans published to the database; Version 0
// when none are (billing off unless a process has plans of its own).
func (s *Store) PublishedPlans(ctx context.Context) (agentscope.PublishedPlans, error) {
	var (
		p  agentscope.PublishedPlans
		at int64
	)
	err := s.queryRow(ctx, `SELECT version, plans, stripe, published_by, updated_at FROM billing_plans WHERE id = 1`).
		Scan(&p.Version, &p.Plans, &p.Stripe, &p.PublishedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return agentscope.PublishedPlans{}, nil
	} else if err != nil {
		return agentscope.PublishedPlans{}, fmt.Errorf("read the published billing plans: %w", err)
	}
	p.UpdatedAt = fromMicros(at)
	return p, nil
}

// PublishPlans publishes plans (the plans file's JSON) for every process
// opening the database, as by, and returns what is published after and
// whether this call changed it. Plans equal to those published (the same
// bytes and the same stripe) change nothing; different ones replace them
// as the next version. Concurrent publishers are serialised by the
// database: each change is one version.
func (s *Store) PublishPlans(ctx context.Context, plans []byte, stripe bool, by string) (agentscope.PublishedPlans, bool, error) {
	if len(bytes.TrimSpace(plans)) == 0 {
		return agentscope.PublishedPlans{}, false, agentscope.FieldErrorf("plans", "is required")
	}
	if by == "" {
		return agentscope.PublishedPlans{}, false, agentscope.FieldErrorf("published_by", "is required")
	}
	now := s.now()
	var (
		p  agentscope.PublishedPlans
		at int64
	)
	// One statement: the insert of the first version, or the update to
	// the next one when the plans differ (none when they do not, and then
	// no row comes back).
	err := s.write.QueryRowContext(ctx, s.d.rebind(`INSERT INTO billing_plans (id, version, plans, stripe, published_by, updated_at) VALUES (1, 1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET version = billing_plans.version + 1, plans = excluded.plans, stripe = excluded.stripe,
			published_by = excluded.published_by, updated_at = excluded.updated_at
		WHERE billing_plans.plans <> excluded.plans OR billing_plans.stripe <> excluded.stripe
		RETURNING version, plans, stripe, published_by, updated_at`), string(plans), stripe, by, micros(now)).
		Scan(&p.Version, &p.Plans, &p.Stripe, &p.PublishedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		cur, err := s.PublishedPlans(ctx)
		return cur, false, err
	} else if err != nil {
		return agentscope.PublishedPlans{}, false, fmt.Errorf("publish the billing plans: %w", err)
	}
	p.UpdatedAt = fromMicros(at)
	return p, true, nil
}

// SeedUsage makes each organisation's usage row for period count at least
// the events it has stored since start (the period's start), counted from
// the events table: billing turned on in the middle of a period (plans
// published for the first time, or a process that stored events while it
// had no plans turning on) counts what was stored before, not from 0. A
// row already counting more keeps its count, so seeding twice, or while
// appends count, never counts an event twice. It returns how many
// organisations' rows it raised. One organisation at a time, off the
// append path: a count per organisation over the events' time index, then
// one small write.
func (s *Store) SeedUsage(ctx context.Context, period string, start time.Time) (int, error) {
	if period == "" {
		return 0, agentscope.FieldErrorf("period", "is required")
	}
	rows, err := s.query(ctx, `SELECT id FROM orgs UNION SELECT org_id FROM runs`)
	if err != nil {
		return 0, fmt.Errorf("seed usage: list organisations: %w", err)
	}
	var orgs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("seed usage: %w", err)
		}
		orgs = append(orgs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("seed usage: %w", err)
	}
	raised := 0
	for _, org := range orgs {
		var n int64
		// Less the events of sessions started Uncounted (plan-limit
		// alerts), which the appends did not count either.
		if err := s.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM events WHERE org_id = ? AND ts >= ?)
			- (SELECT COUNT(*) FROM runs r JOIN events e ON e.org_id = r.org_id AND e.session_id = r.session_id WHERE r.org_id = ? AND r.uncounted = ? AND e.ts >= ?)`,
			org, micros(start), org, true, micros(start)).Scan(&n); err != nil {
			return raised, fmt.Errorf("seed usage of organisation %s: %w", org, err)
		}
		if n == 0 {
			continue
		}
		res, err := s.write.ExecContext(ctx, s.d.rebind(`INSERT INTO org_usage (org_id, period, events) VALUES (?, ?, ?)
			ON CONFLICT (org_id, period) DO UPDATE SET events = excluded.events WHERE org_usage.events < excluded.events`), org, period, n)
		if err != nil {
			return raised, fmt.Errorf("seed usage of organisation %s: %w", org, err)
		}
		if k, err := res.RowsAffected(); err == nil && k > 0 {
			raised++
		}
	}
	return raised, nil
}
