package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand of the binary.
type command struct {
	name, summary string
	run           func(ctx context.Context, env *Env, args []string) error
}

// Env is what a command may touch of the outside world, so tests can run
// commands in-process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Ready, if set, receives the HTTP address once serve listens.
	Ready func(addr string)
}

var commands []command

func init() {
	commands = []command{
		{"serve", "serve the HTTP API, web UI and MCP endpoint (/mcp)", runServe},
		{"mcp", "serve MCP over stdio (for Claude Desktop, Claude Code, any MCP client)", runMCP},
		{"worker", "execute managed agents' runs (no HTTP, no MCP)", runWorker},
		{"agents", "list, create and update agents (agents list|create|update)", runAgents},
		{"budgets", "list and set agents' cost budgets (budgets list|set)", runBudgets},
		{"spl", "run an SPL query over the recorded events: spl '<query>' [--json]", runSPL},
		{"splunk", "Splunk forwarding: splunk status | deadletter list | deadletter retry", runSplunk},
		{"investigate", "investigate a session: investigate <session_id> [--wait] [--json]", runInvestigate},
		{"reports", "investigation reports: reports list | reports show <session_id>", runReports},
		{"alerts", "alert rules: alerts list | alerts create --name … --kinds … --url … | alerts delete <id>", runAlerts},
		{"orgs", "organisations, on the database directly: orgs create NAME | orgs list [--json]", runOrgs},
		{"keys", "API keys, on the database directly: keys create --org ID --name N --scopes S[,S] [--expires T] | keys list --org ID | keys revoke ID", runKeys},
		{"connect", "print ready-to-paste MCP configurations for Claude Desktop, Claude Code, Cursor and VS Code", runConnect},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"version", "print the version, commit and build date: version [--json]", runVersion},
	}
}

// usageError is a command-line mistake: reported with the usage, exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Run runs the command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
	return env.Run(ctx, args)
}

// Run runs the command line in env.
func (env *Env) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		env.usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var ue usageError
		switch {
		case err == nil || errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(env.Stderr, "agentscope %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(env.Stderr, "agentscope %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "agentscope: unknown command %q\n\n", args[0])
	env.usage()
	return 2
}

func (env *Env) usage() {
	var b strings.Builder
	b.WriteString("Usage: agentscope <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-12s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'agentscope <command> -h' for a command's flags. Every flag has an AGENTSCOPE_* environment variable.\n")
	fmt.Fprint(env.Stderr, b.String())
}

// parseFlags parses a command's flags: the shared groups it takes and its
// own (more). Flags may come before or after positional arguments (Go's
// flag package alone stops at the first positional); "--" ends them.
func (env *Env) parseFlags(name string, args []string, cfg *Config, groups flagGroup, more func(*flag.FlagSet)) ([]string, error) {
	fs := flag.NewFlagSet("agentscope "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: agentscope %s [flags]\n", name)
		for _, c := range commands {
			if c.name == strings.Fields(name)[0] {
				fmt.Fprintf(env.Stderr, "\n%s\n", c.summary)
			}
		}
		fmt.Fprintln(env.Stderr, "\nFlags (a flag's environment variable, where it has one, is named in parentheses):")
		fs.PrintDefaults()
	}
	cfg.bind(fs, env.Getenv, groups)
	if more != nil {
		more(fs)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErrorOf(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	cfg.applySecretDefaults()
	if err := cfg.validate(groups); err != nil {
		return nil, usageError{err.Error()}
	}
	return pos, nil
}

// usageErrorOf wraps a flag parsing error; -h stays flag.ErrHelp.
func usageErrorOf(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err.Error()}
}

// noArgs refuses positional arguments for a command that takes none.
func noArgs(pos []string, err error) error {
	if err == nil && len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (this command takes only flags; see -h)", pos[0])}
	}
	return err
}
