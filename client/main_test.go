package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverBin is the testserver command, built once by TestMain.
var serverBin string

// stateDirs lists every test server state directory, so that TestMain can
// check that no server process outlived the tests.
var (
	stateDirsMu sync.Mutex
	stateDirs   []string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "agentscope-client-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	serverBin = filepath.Join(dir, "testserver")
	build := exec.Command("go", "build", "-o", serverBin, "./internal/testserver/cmd/testserver")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build testserver: %v\n%s", err, out)
		return 1
	}

	code := m.Run()
	if code != 0 {
		return code
	}
	if err := checkNoLeaks(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// checkNoLeaks fails if a test server process is still alive or a
// goroutine of this package or the MCP SDK still runs. Goroutines end
// asynchronously after their connections close, with nothing to wait on,
// so this polls until a deadline.
func checkNoLeaks() error {
	stateDirsMu.Lock()
	dirs := slices.Clone(stateDirs)
	stateDirsMu.Unlock()
	for _, dir := range dirs {
		for _, pid := range pidsIn(dir) {
			if processAlive(pid) {
				return fmt.Errorf("test server process %d (state %s) is still running", pid, dir)
			}
		}
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		leaks := leakedGoroutines()
		if len(leaks) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked goroutines:\n\n%s", strings.Join(leaks, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond) // polling: a goroutine's end is no event we can wait on
	}
}

// leakedGoroutines returns the stacks of goroutines, other than the
// caller's, running code of this package or the MCP SDK.
func leakedGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaks []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // this goroutine
		}
		if strings.Contains(g, "modelcontextprotocol/go-sdk") || strings.Contains(g, "agentscope/client.") {
			leaks = append(leaks, g)
		}
	}
	return leaks
}

// newStateDir returns a directory for a test server's pid files and call
// counter, remembered for the final leak check.
func newStateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	stateDirsMu.Lock()
	stateDirs = append(stateDirs, dir)
	stateDirsMu.Unlock()
	return dir
}

// pidsIn returns the pids of the test server processes started with dir.
func pidsIn(dir string) []int {
	files, _ := filepath.Glob(filepath.Join(dir, "pid-*"))
	var pids []int
	for _, f := range files {
		if pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(f), "pid-")); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processAlive reports whether pid exists; a reaped child does not.
func processAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// logBuffer collects JSON log records; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// stdioSetup is what newStdioClient made.
type stdioSetup struct {
	client *Client
	state  string
	logs   *logBuffer
}

// newStdioClient returns a client for the test server run with flags,
// configured by cfg (Command, Args and Logger are filled in), and closed
// when the test ends.
func newStdioClient(t *testing.T, cfg Config, flags ...string) stdioSetup {
	t.Helper()
	state := newStateDir(t)
	logs := &logBuffer{}
	cfg.Command = serverBin
	cfg.Args = append([]string{"-state", state}, flags...)
	cfg.Logger = logs.logger()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return stdioSetup{client: c, state: state, logs: logs}
}

// testContext returns a context that ends with the test, bounded so that
// a hung call fails the test instead of the whole run.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
