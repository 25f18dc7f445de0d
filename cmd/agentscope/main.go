// Command agentscope is AgentScope's one binary: serve the HTTP API, web UI
// and MCP endpoint; serve MCP over stdio; run workers; migrate the database;
// query with SPL; inspect the Splunk bridge.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/agentscope/agentscope/internal/gctune"
)

func main() {
	gctune.Apply()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal begins a drain (AGENTSCOPE_SHUTDOWN_TIMEOUT); a
	// second one ends the process at once.
	go func() { <-ctx.Done(); stop() }()
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
