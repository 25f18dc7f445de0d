package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/agentscope/agentscope"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// runMCP serves MCP over stdio. Only the protocol goes to stdout; logs go to
// stderr.
func runMCP(ctx context.Context, env *Env, args []string) error {
	var cfg Config
	var org string
	if err := noArgs(env.parseFlags("mcp", args, &cfg, storeFlags|workerFlags|forwardFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", agentscope.DefaultOrgID, "the organisation this stdio server acts for")
	})); err != nil {
		return err
	}
	if err := agentscope.ValidateOrgID(org); err != nil {
		return usageError{"--org: " + agentscope.ErrorMessage(err)}
	}
	cfg.LocalOrg = org
	log := cfg.logger(env.Stderr)
	app, _, err := openCommandApp(ctx, env, "mcp", cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	if _, err := orgFlagContext(ctx, app.Store, org); err != nil {
		return err
	}
	out := &lockedWriter{w: env.Stdout}
	t := &mcp.IOTransport{Reader: guardStdin(ctx, env.Stdin, out), Writer: out}
	if err := app.MCP.MCP.Run(ctx, t); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
