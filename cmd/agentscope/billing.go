package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
)

// runBilling is `agentscope billing set-plan --org ORG_ID PLAN`,
// `agentscope billing usage --org ORG_ID [--json]` and `agentscope billing
// plans [--json]`: the operator's view
// and change of an organisation's plan, on the database directly, with
// the change in the organisation's audit log as "operator". The plans are
// those published to the database by the processes that run billing, or
// AGENTSCOPE_PLANS_FILE's, which it publishes (billing.Shared).
func runBilling(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := subcommand("billing", args, "set-plan", "usage", "plans")
	if err != nil {
		return err
	}
	var (
		cfg    Config
		org    string
		reason string
		asJSON bool
	)
	pos, err := env.parseFlags("billing "+sub, rest, &cfg, storeFlags, func(fs *flag.FlagSet) {
		if sub != "plans" {
			fs.StringVar(&org, "org", "", "the organisation's `id`")
		}
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		if sub == "set-plan" {
			fs.StringVar(&reason, "reason", "set by the operator", "why, for the audit log")
		}
	})
	if err != nil {
		return err
	}
	if sub == "plans" {
		if err := noArgs(pos, nil); err != nil {
			return err
		}
	} else if org == "" {
		return usageError{"usage: agentscope billing " + sub + " --org ORG_ID" + map[string]string{"set-plan": " PLAN", "usage": " [--json]"}[sub]}
	}
	if sub == "set-plan" && len(pos) != 1 {
		return usageError{"usage: agentscope billing set-plan --org ORG_ID PLAN [--reason R] [--json]"}
	} else if sub == "usage" {
		if err := noArgs(pos, nil); err != nil {
			return err
		}
	}
	st, shared, _, desc, err := openStore(ctx, cfg, cfg.oneShotLogger(env))
	if err != nil {
		return err
	}
	defer st.Close()
	if shared.Plans() == nil {
		return usageError{"billing is off: no plans are published to the database; set AGENTSCOPE_PLANS_FILE to a plans file (or configure Stripe with AGENTSCOPE_STRIPE_SECRET_KEY)"}
	}
	fmt.Fprintf(env.Stderr, "agentscope billing %s: data dir %s, store %s\n", sub, cfg.DataDir, desc)
	if sub == "plans" {
		return printPlans(ctx, env, st, shared.Plans(), asJSON)
	}
	svc := billing.NewService(shared.Plans(), st, nil)
	if sub == "set-plan" {
		prev, err := svc.SetPlan(ctx, org, pos[0], agentscope.ActorOperator, reason)
		if err != nil {
			return cliError(err)
		}
		if asJSON {
			return printJSON(env.Stdout, map[string]string{"org_id": org, "plan": pos[0], "previous": prev})
		}
		fmt.Fprintf(env.Stdout, "organisation %s moved from plan %s to %s\n", org, prev, pos[0])
		return nil
	}
	if _, err := st.GetOrg(ctx, org); err != nil {
		return cliError(err)
	}
	u, err := svc.OrgUsage(ctx, org)
	if err != nil {
		return cliError(err)
	}
	if asJSON {
		return printJSON(env.Stdout, u)
	}
	fmt.Fprintf(env.Stdout, "organisation %s: plan %s (%s), period %s\n", org, u.Plan, u.PlanName, u.Period)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LIMIT\tUSED\tOF\tPERCENT")
	for _, l := range u.Limits {
		limit, pct := "unlimited", "-"
		if l.Limit != nil {
			limit, pct = l.Limit.String(), fmt.Sprintf("%.1f%%", *l.Percent)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Name, l.Used, limit, pct)
	}
	if u.RetentionDays != nil {
		fmt.Fprintf(tw, "retention_days\t\t%d\t\n", *u.RetentionDays)
	}
	return tw.Flush()
}

// printPlans is `agentscope billing plans [--json]`: the plans in force
// and who published them to the database, when.
func printPlans(ctx context.Context, env *Env, st billing.PlansStore, plans *billing.Plans, asJSON bool) error {
	pub, err := st.PublishedPlans(ctx)
	if err != nil {
		return cliError(err)
	}
	if asJSON {
		return printJSON(env.Stdout, struct {
			Version     int64          `json:"version"`
			PublishedBy string         `json:"published_by"`
			UpdatedAt   time.Time      `json:"updated_at"`
			Stripe      bool           `json:"stripe"`
			Plans       *billing.Plans `json:"plans"`
		}{pub.Version, pub.PublishedBy, pub.UpdatedAt, plans.Stripe, plans})
	}
	fmt.Fprintf(env.Stdout, "plans version %d, published by %s at %s; Stripe: %v\n", pub.Version, pub.PublishedBy, pub.UpdatedAt.Format(time.RFC3339), plans.Stripe)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAN\tNAME\tEVENTS/MONTH\tSEATS\tAPI KEYS\tMANAGED RUN USD\tRETENTION DAYS\tSTRIPE PRICE")
	count := func(v *int64) string {
		if v == nil {
			return "unlimited"
		}
		return strconv.FormatInt(*v, 10)
	}
	for _, p := range plans.Plans {
		id, usd, days := p.ID, "unlimited", "for ever"
		if id == plans.Default {
			id += " (default)"
		}
		if p.Limits.ManagedRunUSDPerMonth != nil {
			usd = p.Limits.ManagedRunUSDPerMonth.String()
		}
		if p.Limits.RetentionDays != nil {
			days = strconv.FormatInt(*p.Limits.RetentionDays, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, p.Name, count(p.Limits.EventsPerMonth), count(p.Limits.Seats), count(p.Limits.APIKeys), usd, days, cmp.Or(p.StripePriceID, "-"))
	}
	return tw.Flush()
}
