package billing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
)

// Retention: a River periodic job deletes, for every organisation whose
// plan sets retention_days, its whole sessions older than that (never
// part of a session), and reports what it pruned: a log line and a
// billing.retention_pruned audit entry per batch, which the store writes
// in the transaction that deletes.

// RetentionStore is what the retention job reads and deletes (the SQL
// stores implement it).
type RetentionStore interface {
	ListOrgPlans(ctx context.Context) ([]agentscope.OrgPlan, error)
	PruneSessions(ctx context.Context, orgID string, before time.Time, limit int, actor string) (agentscope.PrunedSessions, error)
}

// pruneBatch is how many sessions one transaction deletes.
const pruneBatch = 100

// RetentionArgs is the retention job's (empty) arguments.
type RetentionArgs struct{}

// Kind names the job in River.
func (RetentionArgs) Kind() string { return "billing_retention" }

// Pruner deletes the sessions plans no longer keep.
type Pruner struct {
	river.WorkerDefaults[RetentionArgs]
	plans func() *Plans
	store RetentionStore
	log   *slog.Logger
	now   func() time.Time
}

// NewPruner returns the retention job's worker over plans and store.
func NewPruner(plans *Plans, store RetentionStore, log *slog.Logger) *Pruner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pruner{plans: func() *Plans { return plans }, store: store, log: log.With("component", "retention"), now: time.Now}
}

// NewSharedPruner is NewPruner over the plans shared through the
// database, following their changes; with none (billing off) a pass
// prunes nothing.
func NewSharedPruner(shared *Shared, store RetentionStore, log *slog.Logger) *Pruner {
	p := NewPruner(nil, store, log)
	p.plans = shared.Plans
	return p
}

// PruneReport is what one pass deleted, by organisation.
type PruneReport map[string]agentscope.PrunedSessions

// Work runs one pass (the River job).
func (p *Pruner) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	_, err := p.Prune(ctx)
	return err
}

// Prune deletes, for each organisation whose plan sets retention_days,
// its sessions expired before now less that many days, whole, and
// returns what it deleted.
func (p *Pruner) Prune(ctx context.Context) (PruneReport, error) {
	plans := p.plans()
	if plans == nil {
		return PruneReport{}, nil
	}
	orgs, err := p.store.ListOrgPlans(ctx)
	if err != nil {
		return nil, err
	}
	report := PruneReport{}
	now := p.now()
	for _, o := range orgs {
		plan := plans.Resolve(o.Plan)
		if plan.Limits.RetentionDays == nil {
			continue
		}
		before := now.Add(-time.Duration(*plan.Limits.RetentionDays) * 24 * time.Hour)
		var total agentscope.PrunedSessions
		for {
			got, err := p.store.PruneSessions(ctx, o.OrgID, before, pruneBatch, string(agentscope.PrincipalSystem))
			if err != nil {
				return report, fmt.Errorf("retention of %s: %w", o.OrgID, err)
			}
			total.Sessions = append(total.Sessions, got.Sessions...)
			total.Events += got.Events
			if len(got.Sessions) < pruneBatch {
				break
			}
		}
		if len(total.Sessions) > 0 {
			report[o.OrgID] = total
			p.log.Info("retention pruned sessions", "org_id", o.OrgID, "plan", plan.ID, "retention_days", *plan.Limits.RetentionDays,
				"before", before, "sessions", len(total.Sessions), "events", total.Events)
		}
	}
	return report, nil
}

// RetentionJob is the periodic job that runs the Pruner every interval
// (and once when a River leader starts), on queue.
func RetentionJob(interval time.Duration, queue string) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		return RetentionArgs{}, &river.InsertOpts{Queue: queue, UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
	}, &river.PeriodicJobOpts{ID: "billing_retention", RunOnStart: true})
}
