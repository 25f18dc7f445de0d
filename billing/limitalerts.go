package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
)

// Plan-limit alerts: a River periodic job reads, for each organisation
// with an alert rule able to match a plan-limit signal, its usage this
// period against every limit, and hands it to the alert rules, which raise
// an alert at 80 % and at 100 % of each limit once per billing period
// (agentscope.AlertKindPlanLimit). Organisations without such a rule cost
// the job nothing but one query.

// LimitAlertStore is what the plan-limit job reads (the SQL stores
// implement it).
type LimitAlertStore interface {
	// OrgsWithPlanLimitRules returns the organisations (ID and Name) with
	// an enabled alert rule that can match a plan-limit signal.
	OrgsWithPlanLimitRules(ctx context.Context) ([]agentscope.Org, error)
}

// LimitAlerts raises the plan-limit alerts of an organisation's usage
// under its alert rules (*alerts.Service): at most one per rule, limit,
// threshold and period, however often it is called.
type LimitAlerts interface {
	RaisePlanLimitAlerts(ctx context.Context, orgName string, u agentscope.BillingUsage) (int, error)
}

// DefaultLimitAlertInterval is how often the plan-limit job runs unless
// configured (AGENTSCOPE_PLAN_ALERT_INTERVAL).
const DefaultLimitAlertInterval = time.Minute

// LimitAlertArgs is the plan-limit job's (empty) arguments.
type LimitAlertArgs struct{}

// Kind names the job in River.
func (LimitAlertArgs) Kind() string { return "billing_limit_alerts" }

// LimitAlerter is the plan-limit job's worker.
type LimitAlerter struct {
	river.WorkerDefaults[LimitAlertArgs]
	usage  *Service
	store  LimitAlertStore
	alerts LimitAlerts
	log    *slog.Logger
}

// NewLimitAlerter returns the plan-limit job's worker: usage computes an
// organisation's usage (with billing off, the job does nothing), store
// lists the organisations to check, alerts raises their alerts.
func NewLimitAlerter(usage *Service, store LimitAlertStore, alerts LimitAlerts, log *slog.Logger) *LimitAlerter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LimitAlerter{usage: usage, store: store, alerts: alerts, log: log.With("component", "plan_limit_alerts")}
}

// Work runs one pass (the River job).
func (w *LimitAlerter) Work(ctx context.Context, _ *river.Job[LimitAlertArgs]) error {
	_, err := w.Check(ctx)
	return err
}

// Check raises the plan-limit alerts of every organisation with a rule
// that can match one, and returns how many it raised, by organisation. One
// organisation's failure does not keep the others from their alerts: the
// errors are returned together after the pass.
func (w *LimitAlerter) Check(ctx context.Context) (map[string]int, error) {
	if !w.usage.Enabled() {
		return nil, nil
	}
	orgs, err := w.store.OrgsWithPlanLimitRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan-limit alerts: %w", err)
	}
	raised := map[string]int{}
	var errs []error
	for _, o := range orgs {
		u, err := w.usage.OrgUsage(ctx, o.ID)
		if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
			continue // rules left of an organisation being deleted
		} else if err != nil {
			errs = append(errs, fmt.Errorf("plan-limit alerts of %s: usage: %w", o.ID, err))
			continue
		}
		n, err := w.alerts.RaisePlanLimitAlerts(ctx, o.Name, u)
		if err != nil {
			errs = append(errs, fmt.Errorf("plan-limit alerts of %s: %w", o.ID, err))
			continue
		}
		if n > 0 {
			raised[o.ID] = n
			w.log.Info("plan-limit alerts raised", "org_id", o.ID, "plan", u.Plan, "period", u.Period, "alerts", n)
		}
	}
	return raised, errors.Join(errs...)
}

// LimitAlertJob is the periodic job that runs the LimitAlerter every
// interval (and once when a River leader starts), on queue.
func LimitAlertJob(interval time.Duration, queue string) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		return LimitAlertArgs{}, &river.InsertOpts{Queue: queue, UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
	}, &river.PeriodicJobOpts{ID: "billing_limit_alerts", RunOnStart: true})
}
