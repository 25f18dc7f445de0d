package client

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestStdioLazyConnectAndReuse(t *testing.T) {
	s := newStdioClient(t, Config{Env: []string{"TESTSERVER_ECHO=s3cret-env-value"}})
	ctx := testContext(t)

	if got := pidsIn(s.state); len(got) != 0 {
		t.Fatalf("New spawned %d processes; want none before first use", len(got))
	}
	tools, err := s.client.ListTools(ctx)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	if findTool(tools, "splunk_run_query") == nil {
		t.Errorf("ListTools = %v; want splunk_run_query among them", toolNames(tools))
	}
	res, err := s.client.CallTool(ctx, "echo_env", map[string]any{"name": "TESTSERVER_ECHO"})
	if err != nil {
		t.Fatalf("CallTool: %v", err)
	}
	if got := resultText(res); got != "s3cret-env-value" {
		t.Errorf("echo_env = %q; want the value from Config.Env", got)
	}
	if _, err := s.client.ListTools(ctx); err != nil {
		t.Fatalf("ListTools again: %v", err)
	}
	pids := pidsIn(s.state)
	if len(pids) != 1 {
		t.Fatalf("spawned %d processes; want 1 reused for every call", len(pids))
	}

	if err := s.client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if processAlive(pids[0]) {
		t.Errorf("server process %d alive after Close", pids[0])
	}
	if _, err := s.client.ListTools(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("ListTools after Close: %v; want ErrClosed", err)
	}

	logs := s.logs.String()
	for _, want := range []string{
		`"component":"mcp-client"`,
		`"level":"DEBUG","msg":"mcp server stderr","component":"mcp-client","line":"testserver: starting"`,
		`"level":"WARN","msg":"mcp server stderr","component":"mcp-client","line":"testserver: warning: this server is for tests"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "s3cret") {
		t.Errorf("logs reveal an environment value:\n%s", logs)
	}
}

func TestCrashMidCallRecoversForIdempotentCalls(t *testing.T) {
	s := newStdioClient(t, Config{BackoffInitial: time.Millisecond, BackoffMax: 2 * time.Millisecond},
		"-crash-on-call", "2")
	ctx := testContext(t)
	args := map[string]any{"query": "index=main"}

	if _, err := s.client.CallToolWith(ctx, "splunk_run_query", args, CallOptions{Idempotent: true}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	first := pidsIn(s.state)
	res, err := s.client.CallToolWith(ctx, "splunk_run_query", args, CallOptions{Idempotent: true})
	if err != nil {
		t.Fatalf("call during which the server crashed: %v", err)
	}
	if res.IsError {
		t.Fatalf("retried call failed: %s", resultText(res))
	}
	pids := pidsIn(s.state)
	if len(first) != 1 || len(pids) != 2 {
		t.Fatalf("processes before crash %v, after %v; want 1 then 2", first, pids)
	}
	if processAlive(first[0]) {
		t.Errorf("crashed process %d is still alive", first[0])
	}
	logs := s.logs.String()
	for _, want := range []string{"mcp server connection lost", "exit status 3", "testserver: crashing on purpose"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestCrashMidCallIsNotRetriedForOtherCalls(t *testing.T) {
	s := newStdioClient(t, Config{BackoffInitial: time.Millisecond}, "-crash-on-call", "1")
	ctx := testContext(t)
	args := map[string]any{"query": "index=main"}

	_, err := s.client.CallTool(ctx, "splunk_run_query", args)
	if err == nil || !strings.Contains(err.Error(), "not marked idempotent") {
		t.Fatalf("call during crash: %v; want an error saying it was not retried", err)
	}
	if got := len(pidsIn(s.state)); got != 1 {
		t.Fatalf("spawned %d processes; want no reconnect before the next call", got)
	}
	// The next call reconnects.
	if _, err := s.client.CallTool(ctx, "splunk_run_query", args); err != nil {
		t.Fatalf("call after crash: %v", err)
	}
	if got := len(pidsIn(s.state)); got != 2 {
		t.Fatalf("spawned %d processes; want 2", got)
	}
}

func TestServerThatAlwaysExitsGivesUpAfterMaxAttempts(t *testing.T) {
	s := newStdioClient(t, Config{MaxAttempts: 3, BackoffInitial: time.Millisecond, BackoffMax: 2 * time.Millisecond},
		"-mode", "exit")

	_, err := s.client.ListTools(testContext(t))
	var retryErr *RetryError
	if !errors.As(err, &retryErr) || retryErr.Attempts != 3 {
		t.Fatalf("ListTools: %v; want a RetryError after 3 attempts", err)
	}
	for _, want := range []string{"after 3 attempts", "exit status 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := len(pidsIn(s.state)); got != 3 {
		t.Errorf("spawned %d processes; want one per attempt, 3", got)
	}
}

func TestServerThatNeverInitializesIsKilledAtInitTimeout(t *testing.T) {
	const initTimeout = 500 * time.Millisecond
	s := newStdioClient(t, Config{InitTimeout: initTimeout}, "-mode", "hang")

	start := time.Now()
	_, err := s.client.ListTools(testContext(t))
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "InitTimeout 500ms and was killed") {
		t.Fatalf("ListTools: %v; want an InitTimeout error", err)
	}
	if elapsed < initTimeout || elapsed > initTimeout+2*time.Second {
		t.Errorf("ListTools failed after %s; want just after %s", elapsed, initTimeout)
	}
	pids := pidsIn(s.state)
	if len(pids) != 1 {
		t.Fatalf("spawned %d processes; want 1 (a hung server is not retried)", len(pids))
	}
	if processAlive(pids[0]) {
		t.Errorf("hung server %d still alive", pids[0])
	}
}

func TestMissingCommandIsNotRetried(t *testing.T) {
	c, err := New(Config{Command: filepath.Join(t.TempDir(), "no-such-server"), BackoffInitial: time.Hour, BackoffMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ListTools(testContext(t))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ListTools: %v; want a not-exist error, at once", err)
	}
}

func TestCallTimeoutKeepsTheSession(t *testing.T) {
	s := newStdioClient(t, Config{CallTimeout: 300 * time.Millisecond})
	ctx := testContext(t)

	_, err := s.client.CallTool(ctx, "sleep", nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "CallTimeout 300ms") {
		t.Fatalf("CallTool(sleep): %v; want a CallTimeout error", err)
	}
	if _, err := s.client.CallTool(ctx, "get_indexes", nil); err != nil {
		t.Fatalf("call after timeout: %v", err)
	}
	if got := len(pidsIn(s.state)); got != 1 {
		t.Errorf("spawned %d processes; want the session kept, 1", got)
	}
}

func TestCloseInterruptsCallsAndStopsTheServer(t *testing.T) {
	s := newStdioClient(t, Config{})
	errc := make(chan error, 1)
	go func() {
		_, err := s.client.CallTool(testContext(t), "sleep", nil)
		errc <- err
	}()
	// The call's arrival at the server is not an event the client sees.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(s.state, "sleeping")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sleep call never reached the server")
		}
		time.Sleep(5 * time.Millisecond)
	}

	if err := s.client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("call in flight during Close: %v; want ErrClosed", err)
	}
	for _, pid := range pidsIn(s.state) {
		if processAlive(pid) {
			t.Errorf("server %d alive after Close", pid)
		}
	}
}

func TestConcurrentCallsShareOneServer(t *testing.T) {
	s := newStdioClient(t, Config{})
	ctx := testContext(t)
	searcher := NewSearcher(s.client, nil)

	const n = 16
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			if i%2 == 0 {
				_, err := searcher.Search(ctx, "index=main", "-1h", "now", 3)
				errs <- err
			} else {
				_, err := s.client.CallTool(ctx, "get_indexes", nil)
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(pidsIn(s.state)); got != 1 {
		t.Errorf("spawned %d processes; want 1 shared by all calls", got)
	}
}

func TestUnknownToolIsAProtocolError(t *testing.T) {
	s := newStdioClient(t, Config{})
	_, err := s.client.CallToolWith(testContext(t), "no_such_tool", nil, CallOptions{Idempotent: true})
	if err == nil {
		t.Fatal("CallTool(no_such_tool) succeeded")
	}
	var retryErr *RetryError
	if errors.As(err, &retryErr) || len(pidsIn(s.state)) != 1 {
		t.Errorf("CallTool(no_such_tool): %v with %d processes; want no retry", err, len(pidsIn(s.state)))
	}
}

// Compile-time check that the transports we build are what the SDK wants.
var (
	_ mcp.Transport = (*process)(nil)
)
