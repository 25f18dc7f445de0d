package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAlertAndBudgetFlagErrors: a value the service refuses is named by the
// flag that set it (--url, --min-severity, --period), not by the API's
// field (url, min_severity, period), and exits with the usage status.
func TestAlertAndBudgetFlagErrors(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (int, string) { return runIn(dir, args...) }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"alerts", "create", "--name", "x", "--kinds", "loop"}, "agentscope alerts: --url: is required\n"},
		{[]string{"alerts", "create", "--name", "x", "--kinds", "loop", "--url", "https://example.com/h", "--format", "xml"}, `agentscope alerts: --format: must be json or slack, got "xml"` + "\n"},
		{[]string{"alerts", "create", "--name", "x", "--kinds", "loop", "--url", "https://example.com/h", "--min-severity", "dire"}, "agentscope alerts: --min-severity: "},
	} {
		code, got := run(c.args...)
		if code != 2 || !strings.Contains(got, c.want) || strings.Contains(got, "min_severity") || strings.Contains(got, " url:") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, got, c.want)
		}
	}
	// A budget on an agent the organisation has: the period is refused by
	// its flag.
	if code, got := run("agents", "create", "--name", "bot", "--system-prompt", "be brief"); code != 0 {
		t.Fatalf("agents create: exit %d: %s", code, got)
	}
	code, got := run("budgets", "set", "--agent", "bot", "--limit", "5", "--period", "year")
	if want := `agentscope budgets: --period: must be day, week or month, got "year"` + "\n"; code != 2 || !strings.HasSuffix(got, want) {
		t.Errorf("budgets set --period year: exit %d, stderr %q; want exit 2 ending %q", code, got, want)
	}
}

// runIn runs the CLI with args on the local store of data dir dir and
// nothing else in its environment, returning its exit status and stderr.
func runIn(dir string, args ...string) (int, string) {
	code, _, errOut := runInOut(dir, args...)
	return code, errOut
}

// runInOut is runIn, with the stdout too.
func runInOut(dir string, args ...string) (code int, stdout, stderr string) {
	var out, errOut strings.Builder
	e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string {
		if k == "AGENTSCOPE_DATA_DIR" {
			return dir
		}
		return ""
	}}
	code = e.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

// TestAgentFlagErrors: agents create and update name the flag that set a
// refused value (--system-prompt, --max-steps, --tools, --name) and exit
// with the usage status; a value that came from a definition file or the
// stored definition keeps its field's name, since no flag set it.
func TestAgentFlagErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "def.json")
	if err := os.WriteFile(file, []byte(`{"system_prompt":"be brief","limits":{"max_steps":500}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"agents", "create", "--name", "bot"}, 2, "agentscope agents: --system-prompt: is required\n"},
		{[]string{"agents", "create", "--name", "bot", "--system-prompt", "hi", "--max-steps", "-3"}, 2, "agentscope agents: --max-steps: must be between 1 and 100\n"},
		{[]string{"agents", "create", "--name", "bot", "--system-prompt", "hi", "--tools", "nope"}, 2, `agentscope agents: --tools: names "nope"`},
		{[]string{"agents", "create", "--name", "bad name", "--system-prompt", "hi"}, 2, "agentscope agents: --name: must match"},
		{[]string{"agents", "create", "--name", "bot", "--definition", file}, 1, "agentscope agents: definition.limits.max_steps: must be between 1 and 100\n"},
		{[]string{"agents", "create", "--name", "bot", "--definition", file, "--max-steps", "200"}, 2, "agentscope agents: --max-steps: must be between 1 and 100\n"},
		{[]string{"agents", "create", "--name", "bot", "--system-prompt", "hi"}, 0, ""},
		{[]string{"agents", "update", "--name", "bot", "--max-steps", "101"}, 2, "agentscope agents: --max-steps: must be between 1 and 100\n"},
		{[]string{"agents", "update", "--name", "bot", "--max-steps", "ten"}, 2, `invalid value "ten" for flag -max-steps: not a whole number`},
		// 0 is a value given, though it is the unset flag's too.
		{[]string{"agents", "create", "--name", "ext", "--external", "--max-steps", "0"}, 2, "agentscope agents: --max-steps: an external agent runs elsewhere and takes no definition\n"},
	} {
		code, got := runIn(dir, c.args...)
		if code != c.code || !strings.Contains(got, c.want) || (c.code == 2 && strings.Contains(got, "definition.")) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, got, c.code, c.want)
		}
	}
}

// TestMaxStepsZeroRestoresTheDefault: agents update --max-steps 0 clears
// the definition's max_steps (a run then takes the default, 10); it is not
// taken for the flag left out.
func TestMaxStepsZeroRestoresTheDefault(t *testing.T) {
	dir := t.TempDir()
	steps := func(args ...string) any {
		t.Helper()
		code, out, errOut := runInOut(dir, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		var a struct {
			Spec struct {
				Limits map[string]any `json:"limits"`
			} `json:"definition"`
		}
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("%q: %v: %s", args, err, out)
		}
		return a.Spec.Limits["max_steps"]
	}
	if got := steps("agents", "create", "--name", "bot", "--system-prompt", "hi", "--max-steps", "3"); got != float64(3) {
		t.Fatalf("created with --max-steps 3: max_steps %v", got)
	}
	if got := steps("agents", "update", "--name", "bot", "--description", "d"); got != float64(3) {
		t.Fatalf("updated without --max-steps: max_steps %v, want 3 kept", got)
	}
	if got := steps("agents", "update", "--name", "bot", "--max-steps", "0"); got != nil {
		t.Fatalf("updated with --max-steps 0: max_steps %v, want none (the default)", got)
	}
}
