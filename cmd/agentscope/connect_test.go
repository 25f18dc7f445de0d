package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestDefaultDataDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the cases are Linux's XDG rules")
	}
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HOME": "/home/ann"}, "/home/ann/.local/share/agentscope"},
		{map[string]string{"HOME": "/home/ann", "XDG_DATA_HOME": "/data/ann"}, "/data/ann/agentscope"},
		// A relative XDG_DATA_HOME is ignored, as the specification says.
		{map[string]string{"HOME": "/home/ann", "XDG_DATA_HOME": "rel"}, "/home/ann/.local/share/agentscope"},
		{map[string]string{}, ""},
	}
	for _, c := range cases {
		if got := defaultDataDir(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("defaultDataDir(%v) = %q, want %q", c.env, got, c.want)
		}
	}
}

// The data dir does not depend on the working directory: two processes
// started from different directories open the same store.
func TestDataDirIndependentOfWorkingDirectory(t *testing.T) {
	home := t.TempDir()
	var dirs []string
	for _, wd := range []string{t.TempDir(), t.TempDir()} {
		cmd := exec.Command(binary(t), "spl", `sourcetype="agentscope:events" | stats count`)
		cmd.Dir = wd
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("spl from %s: %v\n%s", wd, err, out)
		}
		line, _, _ := strings.Cut(string(out), "\n")
		dirs = append(dirs, line)
		if _, err := os.Stat(filepath.Join(wd, "data")); err == nil {
			t.Errorf("a data dir was made in the working directory %s", wd)
		}
	}
	want := "agentscope spl: data dir " + filepath.Join(home, ".local", "share", "agentscope")
	if !strings.HasPrefix(dirs[0], want) || dirs[0] != dirs[1] {
		t.Fatalf("start lines %q, want both to begin %q", dirs, want)
	}
}

// Every stdio entry `agentscope connect` prints starts a server that
// answers an MCP initialize and a tool call on the printed data dir.
func TestConnectEntriesWork(t *testing.T) {
	bin := binary(t)
	dataDir, stubDir := t.TempDir(), t.TempDir()
	// A stand-in for Claude Code's CLI records the arguments the shell gave
	// it, so the printed command line is run by a real shell.
	argsFile := filepath.Join(stubDir, "args.json")
	stub := "#!/bin/sh\n" + `printf '%s\0' "$@" > ` + shellQuote(argsFile) + "\n"
	if err := os.WriteFile(filepath.Join(stubDir, "claude"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "connect")
	cmd.Env = []string{"AGENTSCOPE_DATA_DIR=" + dataDir, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	type entry struct {
		name string
		stdioEntry
	}
	var entries []entry
	sections := parseSections(t, string(out))
	for title, body := range sections {
		switch {
		case strings.HasPrefix(title, "Claude Desktop"):
			var cfg struct {
				MCPServers map[string]stdioEntry `json:"mcpServers"`
			}
			mustJSON(t, title, body, &cfg)
			entries = append(entries, entry{title, cfg.MCPServers["agentscope"]})
		case strings.HasPrefix(title, "VS Code"):
			var cfg struct {
				Servers map[string]stdioEntry `json:"servers"`
			}
			mustJSON(t, title, body, &cfg)
			if cfg.Servers["agentscope"].Type != "stdio" {
				t.Errorf("VS Code entry type %q", cfg.Servers["agentscope"].Type)
			}
			entries = append(entries, entry{title, cfg.Servers["agentscope"]})
		case strings.HasPrefix(title, "Claude Code, stdio"):
			sh := exec.Command("sh", "-c", strings.TrimSpace(body))
			sh.Env = []string{"PATH=" + stubDir + ":" + os.Getenv("PATH")}
			if out, err := sh.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", body, err, out)
			}
			raw, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			args := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
			entries = append(entries, entry{title, claudeAddEntry(t, args)})
		case strings.HasPrefix(title, "Claude Code, Streamable HTTP"):
			if !strings.Contains(body, "--transport http agentscope http://127.0.0.1:8080/mcp") || !strings.Contains(body, "$(cat "+filepath.Join(dataDir, "token")+")") {
				t.Errorf("HTTP entry %q", body)
			}
		}
	}
	if len(entries) != 3 {
		t.Fatalf("stdio entries %d, want 3 (Claude Desktop/Cursor, VS Code, Claude Code); output:\n%s", len(entries), out)
	}
	for i, e := range entries {
		t.Run(e.name, func(t *testing.T) {
			if e.Command != bin || strings.Join(e.Args, " ") != "mcp" || e.Env["AGENTSCOPE_DATA_DIR"] != dataDir {
				t.Fatalf("entry %+v", e.stdioEntry)
			}
			// The host starts the command from a directory of its own, with
			// only the entry's environment.
			cmd := exec.Command(e.Command, e.Args...)
			cmd.Dir = t.TempDir()
			cmd.Env = []string{"HOME=" + t.TempDir()}
			for k, v := range e.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "host"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
			if err != nil {
				t.Fatalf("initialize: %v", err)
			}
			defer cs.Close()
			sid := "connect-" + string(rune('a'+i))
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "start_run", Arguments: map[string]any{"agent": "host-check", "session_id": sid}})
			if err != nil || res.IsError {
				t.Fatalf("start_run: %v %+v", err, res)
			}
		})
	}
	// Every entry recorded into the one printed data dir.
	cmd = exec.Command(bin, "spl", "--json", `sourcetype="agentscope:events" type=SessionStarted | stats count`)
	cmd.Env = []string{"AGENTSCOPE_DATA_DIR=" + dataDir, "PATH=" + os.Getenv("PATH")}
	out, err = cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var ans struct {
		Results []map[string]any `json:"results"`
	}
	mustJSON(t, "spl", string(out), &ans)
	if len(ans.Results) != 1 || ans.Results[0]["count"] != float64(3) {
		t.Fatalf("sessions in the printed data dir: %s", out)
	}
}

// parseSections splits connect's output into "Title:" lines and the
// indented text under each.
func parseSections(t *testing.T, out string) map[string]string {
	t.Helper()
	sections := map[string]string{}
	var title string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "  ") && strings.HasSuffix(line, ":") {
			title = strings.TrimSuffix(line, ":")
			continue
		}
		if title != "" {
			sections[title] += line + "\n"
		}
	}
	return sections
}

func mustJSON(t *testing.T, what, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%s is not the JSON expected: %v\n%s", what, err, s)
	}
}

// claudeAddEntry reads `claude mcp add [--scope S] NAME [--env K=V]… --
// COMMAND ARGS…` as Claude Code does.
func claudeAddEntry(t *testing.T, args []string) stdioEntry {
	t.Helper()
	e := stdioEntry{Env: map[string]string{}}
	if len(args) < 3 || args[0] != "mcp" || args[1] != "add" {
		t.Fatalf("claude args %q", args)
	}
	name := ""
	for i := 2; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			e.Command, e.Args = args[i+1], args[i+2:]
			if name != "agentscope" {
				t.Errorf("server name %q", name)
			}
			return e
		case a == "--scope" || a == "-s":
			i++
		case a == "--env" || a == "-e":
			i++
			k, v, _ := strings.Cut(args[i], "=")
			e.Env[k] = v
		case strings.HasPrefix(a, "-"):
			t.Fatalf("unexpected option %q in %q", a, args)
		default:
			name = a
		}
	}
	t.Fatalf("no -- in %q", args)
	return e
}

// A stdio server started on another store than a running serve says so;
// on the same store it says nothing.
func TestStdioWarnsOfAnotherStore(t *testing.T) {
	runtimeDir, served := t.TempDir(), t.TempDir()
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + served, "XDG_RUNTIME_DIR=" + runtimeDir})
	defer stop()
	stdio := func(dataDir string) string {
		cmd := exec.Command(binary(t), "mcp")
		cmd.Env = []string{"AGENTSCOPE_DATA_DIR=" + dataDir, "XDG_RUNTIME_DIR=" + runtimeDir, "PATH=" + os.Getenv("PATH")}
		cmd.Stdin = strings.NewReader("") // the host hangs up at once
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mcp: %v\n%s", err, out)
		}
		return string(out)
	}
	other := t.TempDir()
	out := stdio(other)
	if !strings.Contains(out, "sqlite:"+filepath.Join(other, "agentscope.db")) || !strings.Contains(out, "agentscope serve at "+base) {
		t.Errorf("no warning of the other store:\n%s", out)
	}
	if out := stdio(served); strings.Contains(out, "agentscope serve at") {
		t.Errorf("a warning on the same store:\n%s", out)
	}
}

// Each command's help lists the flags it reads, and only those.
func TestHelpListsOwnFlags(t *testing.T) {
	cases := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"serve", "-h"}, []string{"-addr", "-token", "-no-worker", "-no-forward", "-data-dir"}, nil},
		{[]string{"mcp", "-h"}, []string{"-org", "-no-worker", "-data-dir"}, []string{"-addr", "-token"}},
		{[]string{"spl", "-h"}, []string{"-json", "-earliest", "-data-dir"}, []string{"-addr", "-token", "-no-worker", "-no-forward"}},
		{[]string{"worker", "-h"}, []string{"-no-forward"}, []string{"-addr", "-no-worker"}},
		{[]string{"version", "-h"}, []string{"-json"}, []string{"-data-dir"}},
	}
	for _, c := range cases {
		var stderr strings.Builder
		e := &Env{Stdout: &strings.Builder{}, Stderr: &stderr, Getenv: func(string) string { return "" }}
		if code := e.Run(context.Background(), c.args); code != 0 {
			t.Errorf("%v: exit %d", c.args, code)
		}
		help := stderr.String()
		for _, f := range c.want {
			if !strings.Contains(help, "  "+f+" ") && !strings.Contains(help, "  "+f+"\n") {
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

// `agentscope version` and the MCP handshake tell the same version, from
// the values the Makefile links in.
func TestVersionOneSource(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "agentscope")
	pkg := "github.com/agentscope/agentscope/internal/version"
	ld := "-X " + pkg + ".version=v9.8.7 -X " + pkg + ".commit=0123456789abcdef0123 -X " + pkg + ".date=2026-12-03T00:00:00Z"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "agentscope v9.8.7 (commit 0123456789ab, built 2026-12-03T00:00:00Z)" {
		t.Fatalf("version: %v %q", err, out)
	}
	cmd := exec.Command(bin, "mcp")
	cmd.Env = []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "host"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if v := cs.InitializeResult().ServerInfo.Version; v != "v9.8.7+0123456789ab" {
		t.Errorf("MCP server version %q", v)
	}
}
