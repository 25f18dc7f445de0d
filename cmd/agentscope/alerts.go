package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// runAlerts is `agentscope alerts list|create|delete`.
func runAlerts(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := subcommand("alerts", args, "list", "create", "delete")
	if err != nil {
		return err
	}
	var (
		cfg           Config
		org           string
		asJSON        bool
		in            service.AlertRuleInput
		kinds, agents string
		disabled      bool
	)
	pos, err := env.parseFlags("alerts "+sub, rest, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", "", "organisation (default: the local one)")
		if sub != "delete" {
			fs.BoolVar(&asJSON, "json", false, "print JSON")
		}
		if sub == "create" {
			fs.StringVar(&in.Name, "name", "", "what the rule is for")
			fs.StringVar(&kinds, "kinds", "", "comma-separated: detector kinds (loop, retry_storm, provider_switch, cost_spike, latency_slo, tool_error_rate, stall, budget_proximity, schema_drift), risk, budget, plan_limit or *")
			fs.StringVar(&in.MinSeverity, "min-severity", "", "lowest severity or risk level: low, medium, high or critical")
			fs.IntVar(&in.BudgetPercent, "budget-percent", 0, "for budget: percentage of a budget spent, e.g. 80")
			fs.StringVar(&agents, "agents", "", "comma-separated: only these agents")
			fs.StringVar(&in.URL, "url", "", "the webhook URL (Slack incoming webhook or any HTTPS endpoint)")
			fs.StringVar(&in.Format, "format", "json", "slack or json")
			fs.BoolVar(&disabled, "disabled", false, "create it paused")
		}
	})
	if err != nil {
		return err
	}
	app, octx, err := cliApp(ctx, env, "alerts", cfg, org)
	if err != nil {
		return err
	}
	defer app.Close()
	switch sub {
	case "create":
		if len(pos) != 0 {
			return usageError{"usage: agentscope alerts create --name N --kinds K[,K] --url URL [--min-severity S] [--budget-percent P] [--agents A] [--format slack|json]"}
		}
		in.Kinds, in.Agents = splitList(kinds), splitList(agents)
		enabled := !disabled
		in.Enabled = &enabled
		r, err := app.Alerts.CreateAlertRule(octx, in.Rule())
		if renamed, ok := agentscope.RenameField(err, alertFlags); ok {
			return usageError{renamed.Error()} // the caller set these flags, not the API's fields
		}
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(env.Stdout, r)
		}
		fmt.Fprintf(env.Stdout, "alert rule %s created\nsigning secret (shown once; receivers verify X-AgentScope-Signature with it):\n  %s\n", r.ID, r.Secret)
		return nil
	case "delete":
		if len(pos) != 1 {
			return usageError{"usage: agentscope alerts delete <rule id>"}
		}
		if err := app.Alerts.DeleteAlertRule(octx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "alert rule %s deleted\n", pos[0])
		return nil
	}
	rs, err := app.Alerts.ListAlertRules(octx)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"rules": rs})
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tENABLED\tKINDS\tMIN\tBUDGET%\tAGENTS\tDESTINATION\tFORMAT")
	for _, r := range rs {
		fmt.Fprintf(w, "%s\t%s\t%t\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Name, r.Enabled, strings.Join(r.Kinds, ","), r.MinSeverity, r.BudgetPercent, strings.Join(r.Agents, ","), r.URL, r.Format)
	}
	return w.Flush()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// alertFlags are alerts create's flags by the rule field each sets.
var alertFlags = map[string]string{"name": "--name", "kinds": "--kinds", "min_severity": "--min-severity",
	"budget_percent": "--budget-percent", "agents": "--agents", "url": "--url", "format": "--format"}
