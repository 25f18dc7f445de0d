package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A running `agentscope serve` leaves a note of the store it uses in a
// per-user directory, so that a stdio server started by an MCP host against
// another store can say so: otherwise what Claude records would silently
// never show in the web UI.

// serveNote is what a serve process tells the others on the machine.
type serveNote struct {
	PID     int       `json:"pid"`
	URL     string    `json:"url"`
	Store   string    `json:"store"`
	Started time.Time `json:"started"`
}

// instanceDir is the per-user directory of serve notes: the session's
// runtime dir when there is one, else one of the temporary directory's.
func instanceDir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "agentscope")
	}
	return filepath.Join(os.TempDir(), "agentscope-"+strconv.Itoa(os.Getuid()))
}

// storeIdentity names the store cfg opens, the same way in every process:
// the SQLite file's absolute path, or the Postgres database without its
// credentials.
func storeIdentity(cfg Config) string {
	if cfg.DatabaseURL != "" {
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil {
			return "postgres"
		}
		id := "postgres://" + u.Host + u.Path
		if sp := u.Query().Get("search_path"); sp != "" {
			id += "?search_path=" + sp
		}
		return id
	}
	path := filepath.Join(cfg.DataDir, "agentscope.db")
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return "sqlite:" + path
}

// announceServe writes this serve process's note; the returned function
// removes it. A note that cannot be written costs only the warning.
func announceServe(dir string, note serveNote) (remove func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return func() {}, err
	}
	b, err := json.Marshal(note)
	if err != nil {
		return func() {}, err
	}
	path := filepath.Join(dir, "serve-"+strconv.Itoa(note.PID)+".json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return func() {}, err
	}
	return func() { os.Remove(path) }, nil
}

// runningServes returns the notes of serve processes still alive, removing
// those left by processes that are gone.
func runningServes(dir string) []serveNote {
	paths, _ := filepath.Glob(filepath.Join(dir, "serve-*.json"))
	var notes []serveNote
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var n serveNote
		if json.Unmarshal(b, &n) != nil || n.PID <= 0 {
			continue
		}
		if !processAlive(n.PID) {
			os.Remove(p)
			continue
		}
		notes = append(notes, n)
	}
	return notes
}

// storeMismatch is the warning for a process whose store differs from every
// running serve's, or "" when there is no serve or one shares the store.
func storeMismatch(dir, mine string) string {
	notes := runningServes(dir)
	if len(notes) == 0 {
		return ""
	}
	var others []string
	for _, n := range notes {
		if n.Store == mine {
			return ""
		}
		others = append(others, fmt.Sprintf("%s (pid %d) uses %s", n.URL, n.PID, n.Store))
	}
	return fmt.Sprintf("this process uses %s, but the running agentscope serve at %s: what is recorded here will not show in that web UI. "+
		"Give both the same AGENTSCOPE_DATA_DIR (or AGENTSCOPE_DATABASE_URL)", mine, strings.Join(others, "; "))
}
