package stripebilling

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v76"

	"github.com/agentscope/agentscope"
)

// Metered usage: each subscribed organisation's stored events of the
// billing period (the store's exact count, never an in-memory one) go to
// Stripe as Billing Meter events (stripe-go v76's billing/meterevent; the
// older usage records on a subscription item are gone from Stripe's
// current API and from stripe-mock). Each report sends what was stored
// since the last confirmed one; it is noted as pending before it is sent
// and confirmed after, and a pending report is resent with the same
// identifier and idempotency key (org, period, from, to), so a crash
// between sending and confirming never counts events twice.

// ReportUsage reports every subscribed organisation's new usage, then
// ends the grace periods that ran out (their organisations go to the
// default plan). It returns the first error after trying every
// organisation.
func (s *Service) ReportUsage(ctx context.Context) error {
	if !s.Configured() {
		return nil
	}
	accounts, err := s.opts.Store.ListStripeAccounts(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range accounts {
		if err := s.endGrace(ctx, a); err != nil {
			errs = append(errs, err)
		}
		if a.SubscriptionID == "" || a.Status == string(stripe.SubscriptionStatusCanceled) {
			continue
		}
		if err := s.reportOrg(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("report usage of %s: %w", a.OrgID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) reportOrg(ctx context.Context, a agentscope.StripeAccount) error {
	now := s.now()
	if a.UsagePending != nil { // a report not confirmed: the same again
		if err := s.send(ctx, a, a.UsagePeriod, a.UsageReported, *a.UsagePending, now); err != nil {
			return err
		}
		if err := s.opts.Store.FinishUsageReport(ctx, a.OrgID, a.UsagePeriod, *a.UsagePending); err != nil {
			return err
		}
		a.UsageReported, a.UsagePending = *a.UsagePending, nil
	}
	period := s.opts.Period(now)
	if a.UsagePeriod != "" && a.UsagePeriod != period {
		// The period ended since the last report: its last events first.
		if err := s.reportPeriod(ctx, a, a.UsagePeriod, a.UsageReported, now); err != nil {
			return err
		}
		a.UsageReported = 0
	}
	return s.reportPeriod(ctx, a, period, a.UsageReported, now)
}

// reportPeriod reports period's events past from.
func (s *Service) reportPeriod(ctx context.Context, a agentscope.StripeAccount, period string, from int64, now time.Time) error {
	n, err := s.opts.Store.OrgEventUsage(ctx, a.OrgID, period)
	if err != nil {
		return err
	}
	if n <= from && a.UsagePeriod == period {
		return nil
	}
	if err := s.opts.Store.BeginUsageReport(ctx, a.OrgID, period, n); err != nil {
		return err
	}
	if n > from {
		if err := s.send(ctx, a, period, from, n, now); err != nil {
			return err
		}
	}
	return s.opts.Store.FinishUsageReport(ctx, a.OrgID, period, n)
}

// UsageIdentifier is the meter event identifier (and idempotency key) of
// the report of org's events from+1..to in period.
func UsageIdentifier(org, period string, from, to int64) string {
	return fmt.Sprintf("agentscope-usage-%s-%s-%d-%d", org, period, from, to)
}

// send reports to-from events of period as one meter event, timed within
// the period (its last second once it has ended).
func (s *Service) send(ctx context.Context, a agentscope.StripeAccount, period string, from, to int64, now time.Time) error {
	if to <= from {
		return nil
	}
	at := now
	if s.opts.Period(now) != period {
		start, _ := s.opts.PeriodBounds(now)
		if last := start.Add(-time.Second); s.opts.Period(last) == period {
			at = last // the previous period's last second
		}
	}
	id := UsageIdentifier(a.OrgID, period, from, to)
	params := &stripe.BillingMeterEventParams{
		EventName:  stripe.String(s.cfg.MeterEvent),
		Identifier: stripe.String(id),
		Payload:    map[string]string{"stripe_customer_id": a.CustomerID, "value": strconv.FormatInt(to-from, 10)},
		Timestamp:  stripe.Int64(at.Unix()),
	}
	params.SetIdempotencyKey(id)
	params.Context = ctx
	if _, err := s.api.BillingMeterEvents.New(params); err != nil {
		return stripeError("report usage", err)
	}
	s.log.Info("usage reported to stripe", "org", a.OrgID, "period", period, "events", to-from, "identifier", id)
	return nil
}

// endGrace moves an organisation whose grace period ran out to the
// default plan, unless it paid meanwhile (the store checks, in the
// change's transaction, that the grace period is still the one seen).
func (s *Service) endGrace(ctx context.Context, a agentscope.StripeAccount) error {
	if a.PaymentFailedAt == nil || s.now().Sub(*a.PaymentFailedAt) < s.cfg.GracePeriod {
		return nil
	}
	_, err := s.opts.Store.ApplyStripeChange(ctx, agentscope.StripeChange{
		OrgID: a.OrgID, GraceStartedAt: a.PaymentFailedAt, Plan: s.defaultPlan(), EventType: "grace_period.ended",
		Reason: fmt.Sprintf("an invoice's payment failed at %s and was not paid within the grace period (%s)", a.PaymentFailedAt.Format(time.RFC3339), s.cfg.GracePeriod),
	})
	return err
}

// ReportArgs is the River job that reports usage (ReportUsage).
type ReportArgs struct{}

// Kind implements river.JobArgs.
func (ReportArgs) Kind() string { return "agentscope_stripe_usage" }

// ReportInterval is how often usage is reported.
const ReportInterval = 10 * time.Minute

type reportWorker struct {
	river.WorkerDefaults[ReportArgs]
	s *Service
}

func (w *reportWorker) Work(ctx context.Context, _ *river.Job[ReportArgs]) error {
	return w.s.ReportUsage(ctx)
}

// AddWorkers registers the usage report's worker on workers.
func (s *Service) AddWorkers(workers *river.Workers) error {
	return river.AddWorkerSafely(workers, &reportWorker{s: s})
}

// PeriodicJobs are the jobs to add to River's configuration with Stripe
// on: the usage report every ReportInterval, on queue.
func (s *Service) PeriodicJobs(queue string) []*river.PeriodicJob {
	if !s.Configured() {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(ReportInterval),
		func() (river.JobArgs, *river.InsertOpts) {
			return ReportArgs{}, &river.InsertOpts{Queue: queue, UniqueOpts: river.UniqueOpts{ByPeriod: ReportInterval}}
		}, &river.PeriodicJobOpts{ID: "agentscope_stripe_usage", RunOnStart: true})}
}
