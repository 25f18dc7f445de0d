package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
)

// cliApp opens the app for a one-shot CLI command: no workers, and the
// organisation from --org in the context.
func cliApp(ctx context.Context, env *Env, name string, cfg Config, org string) (*App, context.Context, error) {
	cfg.NoWorker, cfg.NoForward = true, true
	app, _, err := openCommandApp(ctx, env, name, cfg, cfg.oneShotLogger(env))
	if err != nil {
		return nil, nil, err
	}
	octx, err := orgFlagContext(ctx, app.Store, org)
	if err != nil {
		app.Close()
		return nil, nil, err
	}
	return app, octx, nil
}

// subcommand splits "agents create --name x" into "create" and its flags.
// -h lists the subcommands.
func subcommand(cmd string, args []string, subs ...string) (string, []string, error) {
	usage := fmt.Sprintf("usage: agentscope %s %s [flags]", cmd, strings.Join(subs, "|"))
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		return "", nil, helpText{fmt.Sprintf("Usage: agentscope %s %s [flags]\n\nRun 'agentscope %s <%s> -h' for a subcommand's flags.", cmd, strings.Join(subs, "|"), cmd, strings.Join(subs, "|"))}
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, usageError{usage}
	}
	for _, s := range subs {
		if args[0] == s {
			return s, args[1:], nil
		}
	}
	return "", nil, usageError{fmt.Sprintf("unknown subcommand %q; use %s", args[0], strings.Join(subs, ", "))}
}

// definitionFlags are the flags that build or edit a definition.
type definitionFlags struct {
	file, model, prompt, tools, description string
	maxSteps                                setInt
}

// setInt is an int flag that knows whether it was given: --max-steps 0
// (the default's value, which restores the default) is a choice too.
type setInt struct {
	n   int
	set bool
}

func (v *setInt) String() string {
	if v == nil {
		return "0"
	}
	return strconv.Itoa(v.n)
}

func (v *setInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number")
	}
	v.n, v.set = n, true
	return nil
}

func (d *definitionFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&d.file, "definition", "", "the definition as a JSON file (- for stdin); the flags below edit it")
	fs.StringVar(&d.model, "model", "", "model name (default AGENTSCOPE_LLM_MODEL)")
	fs.StringVar(&d.prompt, "system-prompt", "", "system prompt")
	fs.StringVar(&d.tools, "tools", "", "comma-separated AgentScope tools, e.g. splunk_context_search,get_run")
	fs.StringVar(&d.description, "description", "", "what the agent is for")
	fs.Var(&d.maxSteps, "max-steps", "model calls per run, 1 to 100 (0 restores the default, 10)")
}

// definitionFlag is one of the flags that build a definition: its name,
// the definition field it sets ("" for --definition, the whole file), and
// whether it was given.
type definitionFlag struct {
	name, field string
	set         bool
}

// flags lists the definition flags in the order --help lists them.
func (d *definitionFlags) flags() []definitionFlag {
	return []definitionFlag{
		{"--definition", "", d.file != ""},
		{"--description", "definition.description", d.description != ""},
		{"--max-steps", "definition.limits.max_steps", d.maxSteps.set},
		{"--model", "definition.model", d.model != ""},
		{"--system-prompt", "definition.system_prompt", d.prompt != ""},
		{"--tools", "definition.tools", d.tools != ""},
	}
}

// given names the definition flags set, in the order --help lists them.
func (d *definitionFlags) given() []string {
	var out []string
	for _, f := range d.flags() {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// refusal is the command's error for err, the service's refusal of the
// agent it built: a value a flag set (or, with no definition file to
// create from, should have set) is named by that flag and exits with the
// usage status; a value from the file or the stored definition keeps its
// field's name.
func (d *definitionFlags) refusal(err error, update bool) error {
	var e *agentscope.Error
	if !errors.As(err, &e) || e.Code != agentscope.EINVALID {
		return cliError(err)
	}
	field, _, _ := strings.Cut(e.Field, "[") // definition.tools[0] is --tools's
	name, set := d.flagOf(field)
	if name == "" || !set && (update || d.file != "") {
		return cliError(err) // no such flag, or the definition file's value or the stored one
	}
	return usageError{name + ": " + e.Message}
}

// flagOf returns the flag of agents create and update that sets field,
// and whether it was given; "" for a field no flag sets.
func (d *definitionFlags) flagOf(field string) (string, bool) {
	if field == "agent" {
		return "--name", true
	}
	for _, f := range d.flags() {
		if f.field != "" && f.field == field {
			return f.name, f.set
		}
	}
	return "", false
}

// build returns the definition: the file's (or base's) with the flags set
// applied on top.
func (d *definitionFlags) build(stdin io.Reader, base json.RawMessage) (json.RawMessage, error) {
	raw := base
	if d.file != "" {
		var err error
		if d.file == "-" {
			raw, err = io.ReadAll(stdin)
		} else {
			raw, err = os.ReadFile(d.file)
		}
		if err != nil {
			return nil, fmt.Errorf("read definition: %w", err)
		}
	}
	var spec runtime.Spec
	if len(raw) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return nil, usageError{fmt.Sprintf("definition: %v", err)}
		}
	}
	if d.model != "" {
		spec.Model = d.model
	}
	if d.prompt != "" {
		spec.SystemPrompt = d.prompt
	}
	if d.description != "" {
		spec.Description = d.description
	}
	if d.tools != "" {
		spec.Tools = strings.Split(d.tools, ",")
	}
	if d.maxSteps.set {
		spec.Limits.MaxSteps = d.maxSteps.n
	}
	return json.Marshal(spec)
}

// runAgents lists, creates and updates agents.
func runAgents(ctx context.Context, env *Env, args []string) error {
	sub, args, err := subcommand("agents", args, "list", "create", "update")
	if err != nil {
		return err
	}
	var (
		cfg      Config
		org      string
		name     string
		asJSON   bool
		external bool
		defFlag  definitionFlags
	)
	if err := noArgs(env.parseFlags("agents "+sub, args, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", agentscope.DefaultOrgID, "the organisation")
		if sub == "list" {
			fs.BoolVar(&asJSON, "json", false, "print JSON") // create and update always print JSON
		} else {
			fs.StringVar(&name, "name", "", "the agent's name (required)")
			if sub == "create" {
				fs.BoolVar(&external, "external", false, "register an external agent (one that runs elsewhere and records its own runs) before its first run, so that a budget can cap it from then on; it takes no definition")
			}
			defFlag.bind(fs)
		}
	})); err != nil {
		return err
	}
	if sub != "list" && name == "" {
		return usageError{"--name is required"}
	}
	if given := defFlag.given(); external && len(given) > 0 {
		return usageError{fmt.Sprintf("%s: an external agent runs elsewhere and takes no definition", strings.Join(given, ", "))}
	}
	app, ctx, err := cliApp(ctx, env, "agents", cfg, org)
	if err != nil {
		return err
	}
	defer app.Close()
	switch sub {
	case "list":
		agents, err := app.Service.ListAgents(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(env.Stdout, map[string]any{"agents": agents})
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tMODEL\tTOOLS\tDESCRIPTION")
		for _, a := range agents {
			var spec runtime.Spec
			_ = json.Unmarshal(a.Spec, &spec)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, a.Kind, dash(spec.Model), dash(strings.Join(spec.Tools, ",")), dash(spec.Description))
		}
		return tw.Flush()
	case "create":
		if external {
			a, err := app.Service.RegisterAgent(ctx, name)
			if err != nil {
				return cliError(err)
			}
			return printJSON(env.Stdout, a)
		}
		def, err := defFlag.build(env.Stdin, nil)
		if err != nil {
			return err
		}
		a, err := app.Service.CreateAgent(ctx, name, def)
		if err != nil {
			return defFlag.refusal(err, false)
		}
		return printJSON(env.Stdout, a)
	default:
		cur, err := app.Service.GetAgent(ctx, name)
		if err != nil {
			return cliError(err)
		}
		def, err := defFlag.build(env.Stdin, cur.Spec)
		if err != nil {
			return err
		}
		a, err := app.Service.UpdateAgent(ctx, name, def)
		if err != nil {
			return defFlag.refusal(err, true)
		}
		return printJSON(env.Stdout, a)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cliError shows an application error's message as the command's error.
func cliError(err error) error {
	if agentscope.ErrorCode(err) == agentscope.EINTERNAL {
		return err
	}
	return fmt.Errorf("%s", agentscope.ErrorMessage(err))
}
