package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
