package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentscope/agentscope"
)

// runInvestigate queues an investigation of a session; with --wait it
// executes it in this process (unless another worker takes it first) and
// prints the report.
func runInvestigate(ctx context.Context, env *Env, args []string) error {
	var (
		cfg     Config
		org     string
		wait    bool
		asJSON  bool
		timeout time.Duration
	)
	rest, err := env.parseFlags("investigate", args, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", "", "organisation (default: the local one)")
		fs.BoolVar(&wait, "wait", false, "wait for the report (runs a worker in this process) and print it")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.DurationVar(&timeout, "timeout", 10*time.Minute, "how long --wait waits")
	})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"usage: agentscope investigate [--wait] [--json] <session_id>"}
	}
	cfg.NoForward = true
	cfg.NoWorker = !wait
	app, _, err := openCommandApp(ctx, env, "investigate", cfg, cfg.oneShotLogger(env))
	if err != nil {
		return err
	}
	defer app.Close()
	octx, err := orgFlagContext(ctx, app.Store, org)
	if err != nil {
		return err
	}
	run, err := app.Investigator.Investigate(octx, rest[0])
	if err != nil {
		return err
	}
	if !wait {
		if asJSON {
			return printJSON(env.Stdout, map[string]any{"session_id": run.SessionID, "status": run.Status, "target_session_id": rest[0]})
		}
		fmt.Fprintf(env.Stdout, "investigation %s queued for session %s\n  follow it: agentscope reports show %s\n", run.SessionID, rest[0], run.SessionID)
		return nil
	}
	wctx, cancel := context.WithTimeout(octx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !run.Status.Terminal() {
		select {
		case <-wctx.Done():
			return fmt.Errorf("investigation %s is still %s after %s", run.SessionID, run.Status, timeout)
		case <-tick.C:
		}
		if run, err = app.Service.GetRun(octx, run.SessionID); err != nil {
			return err
		}
	}
	rep, err := app.Investigator.GetReport(octx, run.SessionID)
	if err != nil {
		return fmt.Errorf("investigation %s %s (%s) without a report: %w", run.SessionID, run.Status, run.Error, err)
	}
	if asJSON {
		if err := printJSON(env.Stdout, rep); err != nil {
			return err
		}
	} else {
		printReport(env.Stdout, rep)
	}
	if rep.Status == agentscope.ReportFailed {
		return fmt.Errorf("investigation failed: %s", rep.Error)
	}
	return nil
}

// runReports is `agentscope reports list|show`.
func runReports(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := subcommand("reports", args, "list", "show")
	if err != nil {
		return err
	}
	var (
		cfg                     Config
		org, risk, agent, since string
		limit                   int
		asJSON                  bool
	)
	pos, err := env.parseFlags("reports "+sub, rest, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", "", "organisation (default: the local one)")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		if sub == "list" {
			fs.StringVar(&risk, "risk-level", "", "only this risk level: low, medium, high or critical")
			fs.StringVar(&agent, "agent", "", "only reports about this agent's runs")
			fs.StringVar(&since, "since", "", "only reports since this time (RFC 3339) or this long ago (24h)")
			fs.IntVar(&limit, "limit", 50, "most reports")
		}
	})
	if err != nil {
		return err
	}
	app, octx, err := cliApp(ctx, env, "reports", cfg, org)
	if err != nil {
		return err
	}
	defer app.Close()
	if sub == "show" {
		if len(pos) != 1 {
			return usageError{"usage: agentscope reports show <session_id> (the investigation's or the investigated session's)"}
		}
		rep, err := app.Investigator.GetReport(octx, pos[0])
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(env.Stdout, rep)
		}
		printReport(env.Stdout, rep)
		return nil
	}
	if len(pos) != 0 {
		return usageError{"usage: agentscope reports list [--risk-level L] [--agent A] [--since 24h] [--limit N]"}
	}
	f, err := agentscope.ParseReportFilter(risk, agent, since, limit, time.Now())
	if err != nil {
		return err
	}
	rs, err := app.Investigator.ListReports(octx, f)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"reports": rs})
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "INVESTIGATION\tSESSION\tAGENT\tSTATUS\tRISK\tFINDINGS\tDETECTOR\tAT")
	for _, r := range rs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", r.SessionID, r.TargetSessionID, r.Agent, r.Status, riskLabel(r), len(r.Findings), len(r.DetectorFindings), r.CreatedAt.Format(time.RFC3339))
	}
	return w.Flush()
}

// riskLabel is a report's risk for a terminal. Without the model's
// analysis (a failed investigation) the risk is the deterministic
// detectors' alone, and says so: "low" on its own would read as an
// assessment that was never made.
func riskLabel(r agentscope.Report) string {
	if r.ModelAnalysis {
		return string(r.RiskLevel)
	}
	return "not assessed (detectors: " + string(r.RiskLevel) + ")"
}

// printReport writes a report for a terminal.
func printReport(w io.Writer, r agentscope.Report) {
	fmt.Fprintf(w, "Investigation %s of session %s (agent %s)\n", r.SessionID, r.TargetSessionID, r.Agent)
	fmt.Fprintf(w, "Status: %s   Risk: %s\n", r.Status, strings.ToUpper(riskLabel(r)))
	if r.Error != "" {
		fmt.Fprintf(w, "Error: %s\n", r.Error)
	}
	if r.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", r.Summary)
	}
	if len(r.Findings) > 0 {
		fmt.Fprintf(w, "\nFindings (model analysis, grounded):\n")
		for _, f := range r.Findings {
			fmt.Fprintf(w, "  [%s] %s\n      %s\n      events: %s\n", f.Severity, f.Title, f.Explanation, strings.Join(f.Evidence, ", "))
		}
	}
	if r.UngroundedDropped > 0 {
		fmt.Fprintf(w, "  (%d findings dropped: they cited no event or events not in the session)\n", r.UngroundedDropped)
	}
	if len(r.DetectorFindings) > 0 {
		fmt.Fprintf(w, "\nDeterministic detector findings:\n")
		for _, f := range r.DetectorFindings {
			fmt.Fprintf(w, "  [%s] %s: %s\n      %s\n      events: %s\n      SPL: %s\n", f.Severity, f.Kind, f.Title, f.Detail, strings.Join(f.EventIDs, ", "), f.SPL)
		}
	}
	if len(r.Recommendations) > 0 {
		fmt.Fprintf(w, "\nRecommendations:\n")
		for _, s := range r.Recommendations {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	if len(r.SPLQueries) > 0 {
		fmt.Fprintf(w, "\nQueries run (%s):\n", r.EvidenceBackend)
		for _, q := range r.SPLQueries {
			status := fmt.Sprintf("%d rows", q.Rows)
			if q.Error != "" {
				status = "error: " + q.Error
			}
			fmt.Fprintf(w, "  %s — %s\n    %s\n", q.Purpose, status, q.Query)
		}
	}
}
