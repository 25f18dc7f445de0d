package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Machine describes where the benchmarks ran.
type Machine struct {
	CPU      string
	Cores    int
	Memory   string
	OS       string
	Kernel   string
	Go       string
	Postgres string // version, or why there is none
	SQLite   string // the modernc.org/sqlite version go.mod requires
	Commit   string
	// LoadBefore and LoadAfter are /proc/loadavg's 1-minute figure: the
	// machine is shared, and a busy one slows every figure.
	LoadBefore, LoadAfter string
}

// readMachine gathers what describes this machine; a fact it cannot read
// says "unknown" rather than failing the report. postgres is the test
// server's version (or why there is none), from postgresVersion.
func readMachine(ctx context.Context, postgres string) Machine {
	return Machine{
		CPU:        procField("/proc/cpuinfo", "model name"),
		Cores:      runtime.NumCPU(),
		Memory:     memTotal(),
		OS:         osRelease(),
		Kernel:     firstLine("/proc/sys/kernel/ostype") + " " + firstLine("/proc/sys/kernel/osrelease"),
		Go:         command(ctx, "go", "env", "GOVERSION"),
		SQLite:     "modernc.org/sqlite " + command(ctx, "go", "list", "-m", "-f", "{{.Version}}", "modernc.org/sqlite"),
		Commit:     commit(ctx),
		LoadBefore: loadAvg(),
		Postgres:   postgres,
	}
}

// postgresVersion asks the server at url for its version. ok is false when
// url is empty or the server does not answer; version then says why.
func postgresVersion(ctx context.Context, url string) (version string, ok bool) {
	if url == "" {
		return "not configured (AGENTSCOPE_TEST_DATABASE_URL is empty)", false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Sprintf("not reachable: %v", err), false
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return fmt.Sprintf("no version: %v", err), false
	}
	return "PostgreSQL " + version, true
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	f := strings.Fields(procField("/proc/meminfo", "MemTotal")) // "24641916 kB"
	if len(f) != 2 || f[1] != "kB" {
		return "unknown"
	}
	kb, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return "unknown"
	}
	return formatBytes(kb * 1024)
}

func osRelease() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

func loadAvg() string {
	f := strings.Fields(firstLine("/proc/loadavg"))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

// command runs name with args and returns its trimmed output, or "unknown".
func command(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// commit names the checked-out commit, marked when the tree has changes:
// figures from a dirty tree belong to no commit.
func commit(ctx context.Context) string {
	c := command(ctx, "git", "rev-parse", "--short", "HEAD")
	if c == "unknown" {
		return c
	}
	if status := command(ctx, "git", "status", "--porcelain"); status != "" {
		c += " with uncommitted changes"
	}
	return c
}
