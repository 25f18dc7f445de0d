package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// TestRedactSettings: the rules file and the defaults switch are read by
// the loader, and a bad rule stops serve before it listens, with an error
// naming the rule.
func TestRedactSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `[{"name":"ticket","pattern":"TCK-[0-9]+"},{"name":"pw","path":"input.password"}]`)
	r, err := redactor(env(map[string]string{"AGENTSCOPE_REDACT_RULES_FILE": good}))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := r.String("TCK-12 sk-abcdefghijklmnopqrstuvwxyz"); s != "[REDACTED:ticket] [REDACTED:openai-key]" {
		t.Errorf("rules file and defaults: %q", s)
	}
	r, err = redactor(env(map[string]string{"AGENTSCOPE_REDACT_RULES_FILE": good, "AGENTSCOPE_REDACT_DEFAULTS": "off"}))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := r.String("TCK-12 sk-abcdefghijklmnopqrstuvwxyz"); s != "[REDACTED:ticket] sk-abcdefghijklmnopqrstuvwxyz" {
		t.Errorf("defaults off: %q", s)
	}
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"AGENTSCOPE_REDACT_DEFAULTS": "maybe"}, "AGENTSCOPE_REDACT_DEFAULTS must be on or off"},
		{map[string]string{"AGENTSCOPE_REDACT_RULES_FILE": filepath.Join(dir, "missing.json")}, "missing.json"},
		{map[string]string{"AGENTSCOPE_REDACT_RULES_FILE": write("obj.json", `{"name":"x"}`)}, "JSON array"},
		{map[string]string{"AGENTSCOPE_REDACT_RULES_FILE": write("bad.json", `[{"name":"broken-ticket","pattern":"TCK-("}]`)}, `"broken-ticket": pattern`},
	} {
		if _, err := redactor(env(tc.vars)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %s", tc.vars, err, tc.want)
		}
	}

	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir(), "AGENTSCOPE_ADDR": "127.0.0.1:0", "AGENTSCOPE_TOKEN": "test-token-0123456789",
		"AGENTSCOPE_REDACT_RULES_FILE": write("worse.json", `[{"name":"card-dup","path":"metadata.card"}]`)}
	var stderr strings.Builder
	e := &Env{Stdout: &strings.Builder{}, Stderr: &syncWriter{w: &stderr}, Getenv: func(k string) string { return vars[k] },
		Ready: func(string) { t.Error("serve started with a bad redaction rule") }}
	if code := e.Run(context.Background(), []string{"serve"}); code == 0 || !strings.Contains(stderr.String(), `redaction rule "card-dup": path "metadata.card" must start with one of`) {
		t.Errorf("serve exited %d:\n%s", code, stderr.String())
	}
}

// TestImportRedacts: an imported file is redacted as recorded events are,
// and imports again as already present although its lines hold the secret
// the store does not.
func TestImportRedacts(t *testing.T) {
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()}
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	const key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123"
	var lines []string
	for _, ev := range []agentscope.Event{
		{EventID: "e1", SessionID: "s", Seq: 1, Type: agentscope.SessionStarted, TS: at, Agent: "bot", Input: json.RawMessage(`{"prompt":"` + key + `"}`)},
		{EventID: "e2", SessionID: "s", Seq: 2, Type: agentscope.ToolCalled, TS: at, Agent: "bot", Tool: "t", CallID: "c", Arguments: json.RawMessage(`{"k":"` + key + `"}`)},
	} {
		b, err := ev.MarshalCanonical()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	path := filepath.Join(t.TempDir(), "in.ndjson")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"imported 2, already present 0, refused 0\n", "imported 0, already present 2, refused 0\n"} {
		if code, stdout, stderr := runCommand(vars, "import", path); code != 0 || stdout != want {
			t.Errorf("import: exit %d, stdout %q, want %q; stderr %s", code, stdout, want, stderr)
		}
	}
	_, out, _ := runCommand(vars, "export", "--format", "ndjson")
	if strings.Contains(out, key) || strings.Count(out, "[REDACTED:anthropic-key]") != 2 {
		t.Errorf("exported after import:\n%s", out)
	}
}
