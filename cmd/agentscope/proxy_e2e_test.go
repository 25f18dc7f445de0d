package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// proxySession connects a go-sdk client (the host) to `agentscope proxy
// args… -- agentscope mcp` (AgentScope's own stdio MCP server as the real
// server behind it, on its own data dir) and returns the session and the
// proxy's stderr.
func proxySession(t *testing.T, env []string, args ...string) (*mcp.ClientSession, *syncWriter) {
	t.Helper()
	upstreamDir := t.TempDir()
	argv := append([]string{"proxy"}, args...)
	argv = append(argv, "--", binary(t), "mcp", "--no-worker", "--data-dir", upstreamDir)
	cmd := exec.Command(binary(t), argv...)
	cmd.Env = append(os.Environ(), env...)
	stderr := &syncWriter{w: &strings.Builder{}}
	cmd.Stderr = stderr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "Claude Desktop", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect through agentscope proxy: %v\n%s", err, stderr.w.String())
	}
	return cs, stderr
}

// hostCalls makes tool calls through the proxy: one that answers, one
// that answers isError. It returns the arguments and results the host saw.
func hostCalls(t *testing.T, cs *mcp.ClientSession) ([]map[string]any, []*mcp.CallToolResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []map[string]any{{"limit": float64(5)}, {"session_id": "no-such-session"}}
	var results []*mcp.CallToolResult
	for i, name := range []string{"list_runs", "get_run"} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args[i]})
		if err != nil {
			t.Fatalf("%s through the proxy: %v", name, err)
		}
		results = append(results, res)
	}
	if results[0].IsError || !results[1].IsError {
		t.Fatalf("list_runs isError %v, get_run of a missing session isError %v", results[0].IsError, results[1].IsError)
	}
	return args, results
}

// checkProxyEvents compares a recorded session's events with the calls.
func checkProxyEvents(t *testing.T, events []map[string]any, args []map[string]any, results []*mcp.CallToolResult) {
	t.Helper()
	var types []string
	for _, e := range events {
		types = append(types, e["type"].(string))
	}
	want := []string{"SessionStarted", "ToolCalled", "ToolReturned", "ToolCalled", "ToolReturned", "SessionCompleted"}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("recorded %v, want %v", types, want)
	}
	// In time order too: the session starts when the proxy saw it begin,
	// not when the start reached AgentScope (after the first call's
	// events, with --to).
	for i := 1; i < len(events); i++ {
		prev, cur := events[i-1]["ts"].(string), events[i]["ts"].(string)
		tp, err1 := time.Parse(time.RFC3339Nano, prev)
		tc, err2 := time.Parse(time.RFC3339Nano, cur)
		if err1 != nil || err2 != nil || tc.Before(tp) {
			t.Errorf("%s at %s comes before %s at %s", types[i], cur, types[i-1], prev)
		}
	}
	if events[0]["agent"] != "desk" {
		t.Errorf("agent %v, want desk (--agent)", events[0]["agent"])
	}
	if events[5]["status"] != "completed" {
		t.Errorf("session ended %v", events[5]["status"])
	}
	for i := range 2 {
		called, returned := events[1+2*i], events[2+2*i]
		if !reflect.DeepEqual(called["arguments"], args[i]) {
			t.Errorf("call %d: recorded arguments %v, sent %v", i, called["arguments"], args[i])
		}
		var got, sent any
		b, _ := json.Marshal(returned["result"])
		_ = json.Unmarshal(b, &got)
		b, _ = json.Marshal(results[i])
		_ = json.Unmarshal(b, &sent)
		if !reflect.DeepEqual(got, sent) {
			t.Errorf("call %d: recorded result %v, the host got %v", i, got, sent)
		}
		wantStatus := "ok"
		if results[i].IsError {
			wantStatus = "error"
		}
		if returned["status"] != wantStatus || returned["call_id"] != called["call_id"] || returned["duration_ms"] == nil {
			t.Errorf("call %d: returned %v", i, returned)
		}
	}
}

// The proxy records to the local data dir, as `agentscope mcp` does.
func TestProxyRecordsLocally(t *testing.T) {
	dir := t.TempDir()
	cs, stderr := proxySession(t, []string{"AGENTSCOPE_DATA_DIR=" + dir}, "--agent", "desk")
	args, results := hostCalls(t, cs)
	if err := cs.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	var out strings.Builder
	e := &Env{Stdout: &out, Stderr: io.Discard, Getenv: func(k string) string {
		if k == "AGENTSCOPE_DATA_DIR" {
			return dir
		}
		return ""
	}}
	if code := e.Run(context.Background(), []string{"export"}); code != 0 {
		t.Fatalf("export exited %d; proxy stderr:\n%s", code, stderr.w.String())
	}
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	checkProxyEvents(t, events, args, results)
}

// With --to, the proxy records to a remote AgentScope over its HTTP API.
// The session's start reaches AgentScope only after the host's calls are
// made (as it may, behind the proxy's queue or a slow network), and the
// recorded session is still in time order: it starts when the proxy saw it
// begin, not when the start arrived.
func TestProxyRecordsRemotely(t *testing.T) {
	const token = "test-token-0123456789"
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()})
	defer stop()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	relay := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/runs" {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		relay.ServeHTTP(w, r)
	}))
	defer front.Close()
	cs, stderr := proxySession(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir(), "AGENTSCOPE_KEY=" + token}, "--agent", "desk", "--to", front.URL)
	args, results := hostCalls(t, cs)
	close(release)
	if err := cs.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	client := &http.Client{Transport: bearer{token}}
	get := func(path string, v any) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("GET %s: %s %s\nproxy stderr:\n%s", path, resp.Status, b, stderr.w.String())
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var runs struct {
		Runs []struct {
			SessionID string            `json:"session_id"`
			Metadata  map[string]string `json:"metadata"`
		} `json:"runs"`
	}
	get("/api/v1/runs?agent=desk", &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].Metadata["source"] != "mcp-proxy" {
		t.Fatalf("runs of desk: %+v\nproxy stderr:\n%s", runs, stderr.w.String())
	}
	var page struct {
		Events []map[string]any `json:"events"`
	}
	get("/api/v1/sessions/"+runs.Runs[0].SessionID+"/events", &page)
	checkProxyEvents(t, page.Events, args, results)
}

// An AgentScope that cannot be reached does not break the host's session:
// the calls go through, the proxy says on stderr what it could not record,
// and it exits cleanly when the host disconnects.
func TestProxySurvivesUnreachableAgentScope(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	cs, stderr := proxySession(t, []string{"AGENTSCOPE_KEY=some-key"}, "--to", down)
	hostCalls(t, cs)
	if err := cs.Close(); err != nil {
		t.Errorf("close: %v (the proxy should exit 0)", err)
	}
	for _, want := range []string{"starting the session failed", "did not reach AgentScope"} {
		if !strings.Contains(stderr.w.String(), want) {
			t.Errorf("proxy stderr lacks %q:\n%s", want, stderr.w.String())
		}
	}
	if strings.Contains(stderr.w.String(), "some-key") {
		t.Error("the key appears on stderr")
	}
}

// A managed agent's runs are AgentScope's own, started by a worker: the
// proxy, which records the sessions an MCP host runs, refuses one named by
// --agent up front, before it starts the server, saying why.
func TestProxyRefusesManagedAgent(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (int, string) { return runIn(dir, args...) }
	if code, got := run("agents", "create", "--name", "bot", "--system-prompt", "be brief"); code != 0 {
		t.Fatalf("agents create: exit %d: %s", code, got)
	}
	code, got := run("proxy", "--agent", "bot", "--", filepath.Join(dir, "no-such-server"))
	if want := `agentscope proxy: --agent: "bot" is a managed agent`; code != 2 || !strings.Contains(got, want) || strings.Contains(got, "started_at") {
		t.Fatalf("proxy --agent bot: exit %d, stderr %q; want exit 2 and %q", code, got, want)
	}
}
