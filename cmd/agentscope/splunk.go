package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/agentscope/agentscope/splunkbridge"
)

// runSplunk is `agentscope splunk status | deadletter list | deadletter retry`.
func runSplunk(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := subcommand("splunk", args, "status", "deadletter")
	if err != nil {
		return err
	}
	if sub == "status" {
		return splunkStatus(ctx, env, rest)
	}
	action, rest, err := subcommand("splunk deadletter", rest, "list", "retry")
	if err != nil {
		return err
	}
	if action == "list" {
		return deadLetterList(ctx, env, rest)
	}
	return deadLetterRetry(ctx, env, rest)
}

// splunkStatus prints the forwarding health: the outbox as the database
// holds it (shared by every process), and HEC's health endpoint checked
// now. Counters of delivery since start belong to the forwarding process:
// GET /api/v1/splunk/health on a running serve reports them.
func splunkStatus(ctx context.Context, env *Env, args []string) error {
	var cfg Config
	var asJSON bool
	if err := noArgs(env.parseFlags("splunk status", args, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the health report as JSON")
	})); err != nil {
		return err
	}
	app, _, err := cliApp(ctx, env, "splunk", cfg, "")
	if err != nil {
		return err
	}
	defer app.Close()
	h := app.splunkHealth(ctx)
	if app.Forwarder != nil {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		h.Endpoint = app.Forwarder.CheckEndpoint(cctx)
		cancel()
	}
	if asJSON {
		return printJSON(env.Stdout, h)
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	if !h.Enabled {
		fmt.Fprintf(w, "forwarding:\toff (set %s and %s to forward events to Splunk)\n", splunkbridge.EnvHECURL, splunkbridge.EnvHECToken)
	} else {
		fmt.Fprintf(w, "forwarding:\ton, to %s\n", h.Endpoint.URL)
		fmt.Fprintf(w, "queue depth:\t%d events not yet delivered\n", h.QueueDepth)
		fmt.Fprintf(w, "oldest undelivered:\t%.0f s\n", h.OldestUndeliveredSeconds)
		fmt.Fprintf(w, "dead letters:\t%d (agentscope splunk deadletter list)\n", h.DeadLetters)
		switch {
		case h.Endpoint.Healthy:
			fmt.Fprintf(w, "HEC health:\thealthy (%s)\n", h.Endpoint.Text)
		case h.Endpoint.Error != "":
			fmt.Fprintf(w, "HEC health:\tunreachable: %s\n", h.Endpoint.Error)
		default:
			fmt.Fprintf(w, "HEC health:\tHTTP %d code %d: %s\n", h.Endpoint.Status, h.Endpoint.Code, h.Endpoint.Text)
		}
		if h.StatsError != "" {
			fmt.Fprintf(w, "outbox:\t%s\n", h.StatsError)
		}
	}
	fmt.Fprintf(w, "search backend:\t%s (available: %v)\n", app.Search.Default(), app.Search.Backends())
	if h.Enabled && !h.Endpoint.Healthy {
		return fmt.Errorf("splunk HEC is not healthy")
	}
	return nil
}

func deadLetterList(ctx context.Context, env *Env, args []string) error {
	var cfg Config
	var limit int
	var asJSON bool
	if err := noArgs(env.parseFlags("splunk deadletter list", args, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.IntVar(&limit, "limit", 100, "most dead letters to list, oldest first")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	})); err != nil {
		return err
	}
	if limit < 1 || limit > 100000 {
		return usageError{fmt.Sprintf("--limit must be from 1 to 100000, got %d", limit)}
	}
	app, _, err := cliApp(ctx, env, "splunk", cfg, "")
	if err != nil {
		return err
	}
	defer app.Close()
	list, err := app.Store.ListDeadLetters(ctx, limit)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"dead_letters": list})
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tORG\tSESSION\tSEQ\tEVENT\tTYPE\tAT\tREASON")
	for _, d := range list {
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.OrgID, d.SessionID, d.Seq, d.EventID, d.Type, d.CreatedAt.Format(time.RFC3339), d.Reason)
	}
	w.Flush()
	fmt.Fprintf(env.Stdout, "%d dead letters\n", len(list))
	return nil
}

func deadLetterRetry(ctx context.Context, env *Env, args []string) error {
	var cfg Config
	var all bool
	ids, err := env.parseFlags("splunk deadletter retry", args, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.BoolVar(&all, "all", false, "retry every dead letter")
	})
	if err != nil {
		return err
	}
	if all == (len(ids) > 0) {
		return usageError{"usage: agentscope splunk deadletter retry <id>... | --all"}
	}
	var nums []int64
	for _, s := range ids {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return usageError{fmt.Sprintf("dead letter id %q is not a positive number (see agentscope splunk deadletter list)", s)}
		}
		nums = append(nums, n)
	}
	app, _, err := cliApp(ctx, env, "splunk", cfg, "")
	if err != nil {
		return err
	}
	defer app.Close()
	var n int64
	if all {
		n, err = app.Store.RetryAllDeadLetters(ctx)
	} else {
		n, err = app.Store.RetryDeadLetters(ctx, nums)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d dead letters queued for delivery again\n", n)
	if !all && n < int64(len(nums)) {
		return fmt.Errorf("%d of the %d ids were not dead letters", int64(len(nums))-n, len(nums))
	}
	return nil
}
