package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
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
	// Getenv reads the settings (os.Getenv in the binary).
	Getenv func(string) string
	// Environ lists the environment's variables (os.Environ in the
	// binary), for doctor to find misspelt settings; nil lists none.
	Environ func() []string
	// ProviderEnv reads model provider credentials: the default provider's
	// (AGENTSCOPE_LLM_*, OPENAI_*) and the variables agent definitions name
	// for their keys, from one place (nil: the process environment).
	ProviderEnv func(string) string
	// Ready, if set, receives the HTTP address once serve listens.
	Ready func(addr string)
	// Routes, if set, receives every route pattern serve has, before
	// Ready (the tenant isolation suite walks them).
	Routes func(patterns []string)
	// MetricsReady, if set, receives the address of AGENTSCOPE_METRICS_ADDR's
	// listener once it listens.
	MetricsReady func(addr string)
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
		{"orgs", "organisations, on the database directly: orgs create NAME | orgs list | orgs delete ID --confirm NAME [--json]", runOrgs},
		{"billing", "plans and usage, on the database directly: billing set-plan --org ID PLAN [--reason R] | billing usage --org ID [--json] | billing plans [--json]", runBilling},
		{"keys", "API keys, on the database directly: keys create --org ID --name N --scopes S[,S] [--expires T] | keys list --org ID | keys revoke ID", runKeys},
		{"export", "export an organisation's sessions: export [--org ORG] [--since T] [--session ID] [--format ndjson|otlp] > file", runExport},
		{"import", "import a file export wrote, idempotently by event_id: import [--org ORG] FILE|-", runImport},
		{"proxy", "relay an MCP host to an MCP server and record its tool calls: proxy [--agent NAME] [--to URL] -- <command> [args…] | proxy --url URL [--header 'K: V']…", runProxy},
		{"connect", "print ready-to-paste MCP configurations for Claude Desktop, Claude Code, Cursor and VS Code", runConnect},
		{"doctor", "check the database, the data dir, Splunk (HEC, search, MCP), the model provider, the clock, SMTP and OIDC, each with its fix: doctor [--json]", runDoctor},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"version", "print the version, commit and build date: version [--json]", runVersion},
	}
}

// usageError is a command-line mistake: reported with the usage, exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// helpText is a command's help asked for with -h: printed, exit 0.
type helpText struct{ text string }

func (h helpText) Error() string { return h.text }

// providerEnv returns where provider credentials are read.
func (env *Env) providerEnv() func(string) string {
	if env.ProviderEnv == nil {
		return os.Getenv
	}
	return env.ProviderEnv
}

// Run runs the command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, Environ: os.Environ}
	return env.Run(ctx, args)
}

// Run runs the command line in env.
func (env *Env) Run(ctx context.Context, args []string) int {
	if len(args) >= 2 && args[0] == "help" {
		// help CMD [SUB…] is CMD [SUB…] -h.
		if !slices.ContainsFunc(commands, func(c command) bool { return c.name == args[1] }) {
			fmt.Fprintf(env.Stderr, "agentscope help: unknown command %q\n\n", args[1])
			env.usage()
			return 2
		}
		return env.Run(ctx, append(slices.Clone(args[1:]), "-h"))
	}
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
		var help helpText
		switch {
		case err == nil || errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &help):
			fmt.Fprintln(env.Stderr, help.text)
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
	b.WriteString("\nRun 'agentscope <command> -h' for a command's flags; a flag's AGENTSCOPE_* environment variable, where it has one, is named there.\nREADME.md lists every setting.\n")
	fmt.Fprint(env.Stderr, b.String())
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
