package main

import (
	"fmt"
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
		// With a Stripe key never nil: this process's plans (a file, or
		// the built-in ones) or those published to the database.
		plans := a.Plans.Plans()
		if plans == nil {
			return nil, fmt.Errorf("billing: Stripe is configured but there are no plans")
		}
		opts.Plans, opts.DefaultPlan = stripePlans(plans)
		// Plans another process republishes apply here too.
		opts.PlansFrom = func() ([]stripebilling.Plan, string) {
			if p := a.Plans.Plans(); p != nil {
				return stripePlans(p)
			}
			return nil, ""
		}
	}
	return stripebilling.New(opts)
}

// stripePlans is what stripebilling needs of plans: each plan's Stripe
// price, and the default plan.
func stripePlans(plans *billing.Plans) ([]stripebilling.Plan, string) {
	out := make([]stripebilling.Plan, len(plans.Plans))
	for i, p := range plans.Plans {
		out[i] = stripebilling.Plan{ID: p.ID, StripePriceID: p.StripePriceID}
	}
	return out, plans.DefaultPlan()
}
