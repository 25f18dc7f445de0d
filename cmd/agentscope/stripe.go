package main

import (
	"log/slog"

	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/billing/stripebilling"
)

// openStripe builds billing's Stripe side from Config.Stripe and the plans
// (AGENTSCOPE_PLANS_FILE, or billing's built-in plans): a Service that
// answers "not configured" without a Stripe key.
func openStripe(a *App, log *slog.Logger) (*stripebilling.Service, error) {
	cfg := a.Config
	opts := stripebilling.Options{Config: cfg.Stripe, Store: a.Store, Logger: log, Period: billing.Period, PeriodBounds: billing.PeriodBounds}
	if cfg.Stripe.Configured() {
		plans, err := cfg.plans() // with a Stripe key never nil (billing.Configure)
		if err != nil {
			return nil, err
		}
		opts.DefaultPlan = plans.DefaultPlan()
		for _, p := range plans.Plans {
			opts.Plans = append(opts.Plans, stripebilling.Plan{ID: p.ID, StripePriceID: p.StripePriceID})
		}
	}
	return stripebilling.New(opts)
}
