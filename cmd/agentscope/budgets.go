package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/agentscope/agentscope"
)

// runBudgets lists and sets agents' cost budgets.
func runBudgets(ctx context.Context, env *Env, args []string) error {
	sub, args, err := subcommand("budgets", args, "list", "set")
	if err != nil {
		return err
	}
	var (
		cfg     Config
		org     string
		agent   string
		period  string
		limit   string
		hardCap bool
		asJSON  bool
	)
	if err := noArgs(env.parseFlags("budgets "+sub, args, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", agentscope.DefaultOrgID, "the organisation")
		fs.StringVar(&agent, "agent", "", "the agent (required for set)")
		if sub == "list" {
			fs.BoolVar(&asJSON, "json", false, "print JSON") // set always prints JSON
		} else {
			fs.StringVar(&period, "period", "day", "day, week or month (UTC)")
			fs.StringVar(&limit, "limit", "", "the most the agent may spend per period, in US dollars, e.g. 5.00 (required)")
			fs.BoolVar(&hardCap, "hard-cap", false, "at the limit, refuse new runs and gateway calls and stop managed runs in flight (otherwise only warn)")
		}
	})); err != nil {
		return err
	}
	var limitUSD agentscope.USD
	if sub == "set" {
		if agent == "" || limit == "" {
			return usageError{"--agent and --limit are required"}
		}
		if limitUSD, err = agentscope.ParseUSD(limit); err != nil {
			return usageError{fmt.Sprintf("--limit: %v", err)}
		}
	}
	app, ctx, err := cliApp(ctx, env, "budgets", cfg, org)
	if err != nil {
		return err
	}
	defer app.Close()
	if sub == "set" {
		b, err := app.Service.SetBudget(ctx, agentscope.AgentCostBudget{Agent: agent, Period: agentscope.BudgetPeriod(period), LimitUSD: limitUSD, HardCap: hardCap})
		if renamed, ok := agentscope.RenameField(err, budgetFlags); ok {
			return usageError{renamed.Error()} // the caller set these flags, not the API's fields
		}
		if err != nil {
			return cliError(err)
		}
		return printJSON(env.Stdout, b)
	}
	bs, err := app.Service.GetBudgets(ctx, agent)
	if err != nil {
		return cliError(err)
	}
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"budgets": bs})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tPERIOD\tLIMIT_USD\tHARD_CAP\tSPENT_USD\tSINCE")
	for _, b := range bs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", b.Agent, b.Period, b.LimitUSD, b.HardCap, b.SpentUSD, b.PeriodStart.Format(time.DateOnly))
	}
	return tw.Flush()
}

// budgetFlags are budgets set's flags by the budget field each sets.
var budgetFlags = map[string]string{"agent": "--agent", "period": "--period", "limit_usd": "--limit", "hard_cap": "--hard-cap"}
