package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope/mcpserver/mcptest"
	"github.com/agentscope/agentscope/store/pgtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the agentscope binary once for the stdio tests.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agentscope-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "agentscope")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build agentscope: %v", buildErr)
	}
	return binPath
}

// store is one backing store the end-to-end tests run against.
type store struct {
	name string
	env  func(t *testing.T) []string // AGENTSCOPE_* settings
}

func stores() []store {
	return []store{
		{"sqlite", func(t *testing.T) []string { return []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()} }},
		{"postgres", func(t *testing.T) []string {
			return []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir(), "AGENTSCOPE_DATABASE_URL=" + pgtest.URL(t)}
		}},
	}
}

func stdioSession(t *testing.T, env []string) *mcp.ClientSession {
	t.Helper()
	return stdioSessionWith(t, env, nil)
}

// stdioSessionWith is stdioSession with client options (notification
// handlers).
func stdioSessionWith(t *testing.T, env []string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	cmd := exec.Command(binary(t), "mcp")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e"}, opts).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect over stdio: %v", err)
	}
	return cs
}

func TestStdioEndToEnd(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			env := st.env(t)
			cs := stdioSession(t, env)
			s := mcptest.ExerciseSession(t, cs, "stdio-1")
			mcptest.CheckReplay(t, s, mcptest.Replay(t, cs, "stdio-1", 4))
			if err := cs.Close(); err != nil {
				t.Logf("close: %v", err)
			}
			// A new process on the same data replays the same session.
			cs = stdioSession(t, env)
			defer cs.Close()
			mcptest.CheckReplay(t, s, mcptest.Replay(t, cs, "stdio-1", 100))
		})
	}
}

// serveInProcess runs `agentscope serve` on :0 and returns its base URL and
// a stop function that shuts it down gracefully.
func serveInProcess(t *testing.T, env []string) (string, func()) {
	t.Helper()
	return serveInProcessWith(t, env, nil)
}

// serveInProcessWith is serveInProcess with the Env adjusted by edit.
func serveInProcessWith(t *testing.T, env []string, edit func(*Env)) (string, func()) {
	t.Helper()
	vars := map[string]string{"AGENTSCOPE_ADDR": "127.0.0.1:0", "AGENTSCOPE_TOKEN": "test-token-0123456789"}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr strings.Builder
	e := &Env{Stdout: &strings.Builder{}, Stderr: &syncWriter{w: &stderr}, Getenv: func(k string) string { return vars[k] }, Ready: func(a string) { ready <- a }}
	if edit != nil {
		edit(e)
	}
	done := make(chan int, 1)
	go func() { done <- e.Run(ctx, []string{"serve"}) }()
	select {
	case addr := <-ready:
		return "http://" + addr, func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d", code)
			}
		}
	case code := <-done:
		cancel()
		t.Fatalf("serve exited %d before listening: %s", code, stderr.String())
	}
	return "", nil
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func httpSession(t *testing.T, base, token string) *mcp.ClientSession {
	t.Helper()
	tr := &mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: &http.Client{Transport: bearer{token}}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e"}, nil).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect over HTTP: %v", err)
	}
	return cs
}

func TestHTTPEndToEnd(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			env := st.env(t)
			base, stop := serveInProcess(t, env)
			cs := httpSession(t, base, "test-token-0123456789")
			s := mcptest.ExerciseSession(t, cs, "http-1")
			mcptest.CheckReplay(t, s, mcptest.Replay(t, cs, "http-1", 2))
			cs.Close()
			stop()

			base, stop = serveInProcess(t, env)
			defer stop()
			cs = httpSession(t, base, "test-token-0123456789")
			defer cs.Close()
			mcptest.CheckReplay(t, s, mcptest.Replay(t, cs, "http-1", 50))
		})
	}
}

func TestHTTPMCPRefusals(t *testing.T) {
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()})
	defer stop()
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	post := func(token, origin, host string) int {
		req, _ := http.NewRequest("POST", base+"/mcp", strings.NewReader(init))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code := post("wrong-token-0123456789", "", ""); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	if code := post("test-token-0123456789", "https://evil.example", ""); code != http.StatusForbidden {
		t.Errorf("foreign Origin: %d", code)
	}
	if code := post("test-token-0123456789", "", "evil.example:80"); code != http.StatusForbidden {
		t.Errorf("foreign Host on loopback (DNS rebinding): %d", code)
	}
	if code := post("test-token-0123456789", "", ""); code != http.StatusOK {
		t.Errorf("good request: %d", code)
	}
}
