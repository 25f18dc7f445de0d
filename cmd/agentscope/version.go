package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/agentscope/agentscope/internal/version"
)

// runVersion prints the build's version, commit and date: the same source
// the MCP server announces in its handshake.
func runVersion(_ context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("agentscope version", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON: {version, commit, date}")
	if err := fs.Parse(args); err != nil {
		return usageErrorOf(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("takes no arguments, got %q", fs.Arg(0))}
	}
	if *asJSON {
		return printJSON(env.Stdout, version.Get())
	}
	fmt.Fprintln(env.Stdout, "agentscope", version.Get())
	return nil
}
