package main

import (
	"context"
	"fmt"
)

// runMigrate applies every embedded migration, AgentScope's and River's
// (opening the app does both), and exits.
func runMigrate(ctx context.Context, env *Env, args []string) error {
	var cfg Config
	if err := noArgs(env.parseFlags("migrate", args, &cfg, storeFlags, nil)); err != nil {
		return err
	}
	cfg.NoWorker, cfg.NoForward = true, true
	app, desc, err := openCommandApp(ctx, env, "migrate", cfg, cfg.oneShotLogger(env))
	if err != nil {
		return err
	}
	if err := app.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "migrations applied, AgentScope's and the run queue's (%s)\n", desc)
	return nil
}
