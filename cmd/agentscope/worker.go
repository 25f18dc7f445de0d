package main

import (
	"context"
	"fmt"
)

// runWorker executes managed agents' runs until it is signalled: a River
// worker process beside (or instead of) the in-process workers of serve and
// mcp. Any number may run against one database; each run executes once.
func runWorker(ctx context.Context, env *Env, args []string) error {
	var cfg Config
	if err := noArgs(env.parseFlags("worker", args, &cfg, storeFlags|forwardFlags, nil)); err != nil {
		return err
	}
	log := cfg.logger(env.Stderr)
	cfg.publishPlans = true
	app, desc, err := openCommandApp(ctx, env, "worker", cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	fmt.Fprintf(env.Stderr, "AgentScope worker is running (%s); stop it with Ctrl-C\n", desc)
	stopMetrics, err := serveMetrics(env, cfg, app.Metrics, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if env.Ready != nil {
		env.Ready("")
	}
	<-ctx.Done()
	// Running runs finish within AGENTSCOPE_SHUTDOWN_TIMEOUT, or are
	// interrupted near its end and queued again for another worker.
	log.Info("shutting down: letting running runs finish", "timeout", cfg.shutdownTimeout())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout())
	defer cancel()
	if err := app.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
