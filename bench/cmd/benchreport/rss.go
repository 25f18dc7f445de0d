package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RSS is the resident memory of an idle `agentscope serve`.
type RSS struct {
	KB    int64  // VmRSS
	Setup string // what was measured, e.g. "SQLite, 5s idle"
	Err   string // why nothing was measured
}

// measureIdleRSS builds ./cmd/agentscope into dir, starts `agentscope
// serve` on the embedded default (SQLite in a fresh data dir, no Splunk,
// no LLM) on a free port, waits for /healthz, lets it idle, reads VmRSS
// from /proc and stops it.
func measureIdleRSS(ctx context.Context, dir string, idle time.Duration) RSS {
	rss := RSS{Setup: fmt.Sprintf("SQLite, %v idle", idle)}
	kb, err := idleRSS(ctx, dir, idle)
	if err != nil {
		rss.Err = err.Error()
		return rss
	}
	rss.KB = kb
	return rss
}

func idleRSS(ctx context.Context, dir string, idle time.Duration) (int64, error) {
	bin := filepath.Join(dir, "agentscope")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/agentscope").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build ./cmd/agentscope: %v: %s", err, firstLines(string(out), 3))
	}
	addr, err := freeAddr()
	if err != nil {
		return 0, err
	}
	var logs strings.Builder
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data"))
	cmd.Env = cleanEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start agentscope serve: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stop(cmd, exited)

	if err := waitHealthy(ctx, "http://"+addr+"/healthz", exited); err != nil {
		return 0, fmt.Errorf("%w: %s", err, firstLines(logs.String(), 3))
	}
	select {
	case <-time.After(idle):
	case err := <-exited:
		return 0, fmt.Errorf("agentscope serve exited while idle: %v: %s", err, firstLines(logs.String(), 3))
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return vmRSS(cmd.Process.Pid)
}

// cleanEnv drops AGENTSCOPE_* and OPENAI_* settings so the server measured
// is the embedded default, whatever this shell configures.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AGENTSCOPE_") && !strings.HasPrefix(kv, "OPENAI_") {
			out = append(out, kv)
		}
	}
	return out
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHealthy(ctx context.Context, url string, exited <-chan error) error {
	deadline := time.After(60 * time.Second)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("agentscope serve exited before /healthz answered: %v", err)
		case <-deadline:
			return errors.New("/healthz did not answer within 60s")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop asks the server to shut down, and kills it if it has not within
// 20 seconds.
func stop(cmd *exec.Cmd, exited <-chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// vmRSS reads a process's resident set size, in kB, from /proc.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read VmRSS: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v) // "41234 kB"
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// firstLines returns up to n lines of s on one line, for an error message.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[:min(n, len(lines))], " / ")
}
