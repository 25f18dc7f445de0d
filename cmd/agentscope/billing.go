package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
)

// runBilling is `agentscope billing set-plan --org ORG_ID PLAN` and
// `agentscope billing usage --org ORG_ID [--json]`: the operator's view
// and change of an organisation's plan, on the database directly, with
// the change in the organisation's audit log as "operator". The plans are
// those published to the database by the processes that run billing, or
// AGENTSCOPE_PLANS_FILE's, which it publishes (billing.Shared).
func runBilling(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := subcommand("billing", args, "set-plan", "usage")
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
		fs.StringVar(&org, "org", "", "the organisation's `id`")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		if sub == "set-plan" {
			fs.StringVar(&reason, "reason", "set by the operator", "why, for the audit log")
		}
	})
	if err != nil {
		return err
	}
	if org == "" {
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
