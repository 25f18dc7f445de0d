package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestReadmeListsEverySetting: README's settings table names exactly the
// AGENTSCOPE_* variables the loader reads (with every group of settings
// taken, as no one command does), and a variable with a flag is listed
// with that flag.
func TestReadmeListsEverySetting(t *testing.T) {
	var mu sync.Mutex
	read := map[string]bool{}
	record := func(k string) string {
		mu.Lock()
		defer mu.Unlock()
		read[k] = true
		if k == "AGENTSCOPE_DATA_DIR" {
			return t.TempDir()
		}
		return ""
	}
	flags := map[string]string{} // variable → flag
	all := dataFlags | logFlags | appSettings | httpFlags | serveSettings | workerFlags | forwardFlags
	env := &Env{Stderr: &strings.Builder{}, Getenv: record, ProviderEnv: record}
	var cfg Config
	if _, err := env.parseFlags("serve", nil, &cfg, all, func(fs *flag.FlagSet) {
		// Visited once every flag is bound: the loader binds before more.
		fs.VisitAll(func(f *flag.Flag) {
			if m := regexp.MustCompile(`\((AGENTSCOPE_[A-Z0-9_]+)\)`).FindStringSubmatch(f.Usage); m != nil {
				flags[m[1]] = "--" + f.Name
			}
		})
	}); err != nil {
		t.Fatal(err)
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Configuration\n")
	section, _, _ = strings.Cut(section, "\n## ")
	listed := map[string]string{} // variable → its row
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `AGENTSCOPE_") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, v := range regexp.MustCompile(`AGENTSCOPE_[A-Z0-9_]+`).FindAllString(first, -1) {
			listed[v] = line
		}
	}
	if len(listed) == 0 {
		t.Fatal("README.md has no settings table under ## Configuration")
	}
	for v := range read {
		if strings.HasPrefix(v, "AGENTSCOPE_") && listed[v] == "" {
			t.Errorf("the loader reads %s, which README's settings table does not list", v)
		}
	}
	for _, v := range slices.Sorted(maps.Keys(listed)) {
		if !read[v] {
			t.Errorf("README's settings table lists %s, which the loader does not read", v)
		}
		flagCell := strings.TrimSpace(strings.Split(listed[v], "|")[2])
		if want := flags[v]; want != "" && !strings.Contains(flagCell, "`"+want+"`") {
			t.Errorf("README lists %s without its flag %s", v, want)
		} else if want == "" && flagCell != "" {
			t.Errorf("README lists %s with the flag %s, which no command has", v, flagCell)
		}
	}
}

// TestLoaderRefusesBadValues: a bad value of a setting without a flag is
// refused at start, before anything opens, naming its variable.
func TestLoaderRefusesBadValues(t *testing.T) {
	all := dataFlags | logFlags | appSettings | httpFlags | serveSettings | workerFlags | forwardFlags
	for name, v := range map[string]string{
		"AGENTSCOPE_WORKERS":               "many",
		"AGENTSCOPE_RUN_LEASE":             "100ms",
		"AGENTSCOPE_LIVE_DETECT":           "maybe",
		"AGENTSCOPE_AUTO_INVESTIGATE":      "yes",
		"AGENTSCOPE_PRICING_FILE":          "/nonexistent/prices.json",
		"AGENTSCOPE_LIVE_POLL":             "1ms",
		"AGENTSCOPE_COOKIE_SECURE":         "yes",
		"AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE": "sure",
		"AGENTSCOPE_SPL_TIMEOUT":           "forever",
		"AGENTSCOPE_HTTP_READ_TIMEOUT":     "soon",
		"AGENTSCOPE_SPLUNK_HEC_ACK":        "perhaps",
		"AGENTSCOPE_LOG_LEVEL":             "loud",
		"AGENTSCOPE_METRICS_ADDR":          "9090",
		"AGENTSCOPE_PLAN_ALERT_INTERVAL":   "1ms",
	} {
		dir := t.TempDir()
		vars := map[string]string{"AGENTSCOPE_DATA_DIR": dir, name: v}
		get := func(k string) string { return vars[k] }
		env := &Env{Stderr: &strings.Builder{}, Getenv: get, ProviderEnv: get}
		var cfg Config
		_, err := env.parseFlags("serve", nil, &cfg, all, nil)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want a usage error naming it", name, v, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s=%s: the data dir holds %d files; nothing may be written before the settings are read", name, v, len(ents))
		}
	}
}

// TestHelpListsOnlyUsedFlags: a command's help offers no flag it ignores,
// and a command with subcommands lists them on -h.
func TestHelpListsOnlyUsedFlags(t *testing.T) {
	cases := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"connect", "-h"}, []string{"-addr", "-token", "-data-dir", "-database-url"}, []string{"-log-level", "-log-format", "-no-worker"}},
		{[]string{"agents", "create", "-h"}, []string{"-name", "-model"}, []string{"-json"}},
		{[]string{"agents", "list", "-h"}, []string{"-json"}, []string{"-name"}},
		{[]string{"budgets", "set", "-h"}, []string{"-limit"}, []string{"-json"}},
		{[]string{"alerts", "delete", "-h"}, []string{"-org"}, []string{"-json", "-url"}},
		{[]string{"agents", "-h"}, []string{"list|create|update"}, nil},
		{[]string{"splunk", "deadletter", "-h"}, []string{"list|retry"}, nil},
	}
	for _, c := range cases {
		var stderr strings.Builder
		e := &Env{Stdout: &strings.Builder{}, Stderr: &stderr, Getenv: func(string) string { return "" }}
		if code := e.Run(context.Background(), c.args); code != 0 {
			t.Errorf("%v: exit %d: %s", c.args, code, stderr.String())
		}
		help := stderr.String()
		for _, f := range c.want {
			if !strings.Contains(help, f) {
				t.Errorf("%v: help lacks %s:\n%s", c.args, f, help)
			}
		}
		for _, f := range c.not {
			if strings.Contains(help, "  "+f+" ") || strings.Contains(help, "  "+f+"\n") {
				t.Errorf("%v: help offers %s, which the command ignores", c.args, f)
			}
		}
	}
}

// TestEarlierDataDirNote: a command that creates the per-user default
// database, run where an earlier version's ./data/agentscope.db is, says
// where that database is — once: not on every later command of someone
// who chose the new default, nor with an explicit data dir.
func TestEarlierDataDirNote(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("data", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("data", "agentscope.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"XDG_DATA_HOME": filepath.Join(dir, "xdg"), "XDG_RUNTIME_DIR": filepath.Join(dir, "run")}
	migrate := func() string {
		t.Helper()
		var errOut strings.Builder
		e := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string { return vars[k] }}
		if code := e.Run(context.Background(), []string{"migrate"}); code != 0 {
			t.Fatalf("migrate: exit %d: %s", code, errOut.String())
		}
		return errOut.String()
	}
	const note = "holds an AgentScope database from an earlier version"
	if out := migrate(); !strings.Contains(out, note) || !strings.Contains(out, "AGENTSCOPE_DATA_DIR="+filepath.Join(dir, "data")) {
		t.Errorf("first command on a new default data dir does not point at ./data:\n%s", out)
	}
	if out := migrate(); strings.Contains(out, note) {
		t.Errorf("the note is repeated once the default database exists:\n%s", out)
	}
}

// TestHelpCommand: "agentscope help CMD" is CMD's own help, an unknown CMD
// is refused by name, and each command's help gives the log level it
// really starts at (warn for a command that does one thing and exits).
func TestHelpCommand(t *testing.T) {
	run := func(args ...string) (int, string) {
		var stderr strings.Builder
		e := &Env{Stdout: &strings.Builder{}, Stderr: &stderr, Getenv: func(string) string { return "" }}
		return e.Run(context.Background(), args), stderr.String()
	}
	for _, cmd := range [][]string{{"serve"}, {"budgets", "set"}} {
		code, viaHelp := run(append([]string{"help"}, cmd...)...)
		_, viaFlag := run(append(cmd, "-h")...)
		if code != 0 || viaHelp != viaFlag || !strings.Contains(viaHelp, "Usage: agentscope "+strings.Join(cmd, " ")) {
			t.Errorf("help %v: exit %d:\n%s\nwant what -h prints:\n%s", cmd, code, viaHelp, viaFlag)
		}
	}
	if code, out := run("help", "nosuch"); code != 2 || !strings.Contains(out, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: exit %d: %s", code, out)
	}
	for cmd, level := range map[string]string{"serve": "info", "worker": "info", "mcp": "info", "spl": "warn", "proxy": "warn", "doctor": "warn"} {
		_, help := run(cmd, "-h")
		i := strings.Index(help, "-log-level")
		if i < 0 || !strings.Contains(help[i:min(len(help), i+160)], `(default "`+level+`")`) {
			t.Errorf("%s -h: log level default is not %q:\n%s", cmd, level, help)
		}
	}
}
