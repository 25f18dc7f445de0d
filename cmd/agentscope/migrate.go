package main

import (
	"context"
	"fmt"
)

// runMigrate applies the embedded migrations (opening the store does) and
// exits.
func runMigrate(ctx context.Context, env *Env, args []string) error {
	var cfg Config
	if _, err := env.parseFlags("migrate", args, &cfg, nil); err != nil {
		return err
	}
	st, _, desc, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(env.Stdout, "migrations applied (%s)\n", desc)
	return nil
}
