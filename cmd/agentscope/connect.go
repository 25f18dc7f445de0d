package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// hostEntries are the MCP host configurations that reach this AgentScope:
// stdio entries that start this binary on the same data dir (or database),
// and the Streamable HTTP endpoint of a serve process.
type hostEntries struct {
	// Executable is this binary's absolute path.
	Executable string
	// Env is what a stdio server needs to open the same store.
	Env map[string]string
	// MCPURL is serve's /mcp endpoint; TokenFile holds its bearer token
	// (empty when the token comes from AGENTSCOPE_TOKEN).
	MCPURL, TokenFile string
}

// newHostEntries describes this process's store and endpoint.
func newHostEntries(cfg Config, mcpURL string) (hostEntries, error) {
	exe, err := os.Executable()
	if err != nil {
		return hostEntries{}, fmt.Errorf("find this executable's path: %w", err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return hostEntries{}, err
	}
	h := hostEntries{Executable: exe, Env: map[string]string{"AGENTSCOPE_DATA_DIR": dataDir}, MCPURL: mcpURL}
	if cfg.DatabaseURL != "" {
		// The stdio server must reach the same database; the URL may carry
		// a password, which then sits in the host's configuration file as
		// it does in this process's environment.
		h.Env["AGENTSCOPE_DATABASE_URL"] = cfg.DatabaseURL
	}
	if cfg.Token == "" {
		h.TokenFile = filepath.Join(dataDir, "token")
	}
	return h, nil
}

// transient reports an executable that `go run` built in a temporary
// directory: it is gone when the command ends, so no host can start it.
func (h hostEntries) transient() bool {
	return strings.Contains(h.Executable, string(filepath.Separator)+"go-build")
}

// stdioEntry is one stdio server of a host's configuration file: Claude
// Desktop and Cursor use this shape, VS Code adds "type".
type stdioEntry struct {
	Type    string            `json:"type,omitempty"`
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
}

func (h hostEntries) stdioServer() stdioEntry {
	return stdioEntry{Command: h.Executable, Args: []string{"mcp"}, Env: h.Env}
}

// print writes every entry, each under a heading, ready to paste.
func (h hostEntries) print(w io.Writer) {
	indent := func(v any) string {
		b, _ := json.MarshalIndent(v, "  ", "  ")
		return "  " + string(b)
	}
	if h.transient() {
		fmt.Fprintf(w, "Connect an MCP host: build a lasting binary first (make build, or go build -o bin/agentscope ./cmd/agentscope)\nand run `agentscope connect` with it; this one (%s) is temporary.\n", h.Executable)
	} else {
		fmt.Fprintln(w, "Claude Desktop (claude_desktop_config.json) and Cursor (~/.cursor/mcp.json), stdio:")
		fmt.Fprintln(w, indent(map[string]any{"mcpServers": map[string]any{"agentscope": h.stdioServer()}}))
		fmt.Fprintln(w, "VS Code (.vscode/mcp.json), stdio:")
		vs := h.stdioServer()
		vs.Type = "stdio"
		fmt.Fprintln(w, indent(map[string]any{"servers": map[string]any{"agentscope": vs}}))
		fmt.Fprintln(w, "Claude Code, stdio:")
		fmt.Fprintf(w, "  %s\n", h.claudeCodeStdio())
	}
	if h.MCPURL != "" {
		fmt.Fprintln(w, "Claude Code, Streamable HTTP (while serve runs):")
		fmt.Fprintf(w, "  %s\n", h.claudeCodeHTTP())
	}
}

// claudeCodeStdio is the `claude mcp add` command line for stdio.
func (h hostEntries) claudeCodeStdio() string {
	parts := []string{"claude", "mcp", "add", "--scope", "user", "agentscope"}
	for _, k := range slices.Sorted(maps.Keys(h.Env)) {
		parts = append(parts, "--env", shellQuote(k+"="+h.Env[k]))
	}
	return strings.Join(append(parts, "--", shellQuote(h.Executable), "mcp"), " ")
}

// claudeCodeHTTP is the `claude mcp add` command line for Streamable HTTP.
// The token is read from its file by the shell, so it is never printed.
func (h hostEntries) claudeCodeHTTP() string {
	auth := `"Authorization: Bearer $AGENTSCOPE_TOKEN"`
	if h.TokenFile != "" {
		auth = `"Authorization: Bearer $(cat ` + shellQuote(h.TokenFile) + `)"`
	}
	return "claude mcp add --scope user --transport http agentscope " + shellQuote(h.MCPURL) + " --header " + auth
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runConnect prints the MCP host configurations for this data dir (or
// database) and, with --addr, serve's HTTP endpoint.
func runConnect(_ context.Context, env *Env, args []string) error {
	var cfg Config
	if err := noArgs(env.parseFlags("connect", args, &cfg, dataFlags|httpFlags, nil)); err != nil {
		return err
	}
	h, err := newHostEntries(cfg, "http://"+cfg.Addr+"/mcp")
	if err != nil {
		return err
	}
	h.print(env.Stdout)
	return nil
}
