package client

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope/client/internal/testserver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const testToken = "Bearer s3cret-token"

// httpServer is an in-process Streamable HTTP MCP server over TLS that
// refuses requests without the test token and records the headers of the
// requests it accepted.
type httpServer struct {
	*httptest.Server
	mcp     *mcp.Server
	mu      sync.Mutex
	headers []http.Header
}

func newHTTPServer(t *testing.T) *httpServer {
	t.Helper()
	srv, err := testserver.New(testserver.Options{Variant: "official", Rows: "structured"})
	if err != nil {
		t.Fatal(err)
	}
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	hs := &httpServer{mcp: srv}
	hs.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != testToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		hs.mu.Lock()
		hs.headers = append(hs.headers, r.Header.Clone())
		hs.mu.Unlock()
		mcpHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs
}

func TestStreamableHTTPSendsConfiguredHeaders(t *testing.T) {
	hs := newHTTPServer(t)
	logs := &logBuffer{}
	c, err := New(Config{
		URL:        hs.URL + "/services/mcp",
		Headers:    map[string]string{"Authorization": testToken, "X-Agentscope-Test": "yes"},
		HTTPClient: hs.Client(), // trusts the test certificate
		Logger:     logs.logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := NewSearcher(c, nil).Search(testContext(t), "index=main", "-1h", "now", 4)
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(rows) != 4 || rows[3]["latest"] != "now" {
		t.Errorf("Search rows = %v; want 4 echoing the time range", rows)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.headers) < 2 {
		t.Fatalf("server accepted %d requests; want at least initialize and the call", len(hs.headers))
	}
	for _, h := range hs.headers {
		if h.Get("X-Agentscope-Test") != "yes" {
			t.Errorf("request without X-Agentscope-Test: %v", h)
		}
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("logs reveal a header value:\n%s", logs)
	}
}

func TestStreamableHTTPRejectedIsNotRetried(t *testing.T) {
	hs := newHTTPServer(t)
	c, err := New(Config{URL: hs.URL, HTTPClient: hs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ListTools(testContext(t))
	if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("ListTools without token: %v; want the server's refusal", err)
	}
	if strings.Contains(err.Error(), "attempts") {
		t.Errorf("ListTools without token: %v; want no retries", err)
	}
}

// TestStreamableHTTPSessionLossReconnects checks that a call answered with
// "session not found", as after a server restart, is sent again on a new
// session even though it is not idempotent: the server never handled it.
func TestStreamableHTTPSessionLossReconnects(t *testing.T) {
	hs := newHTTPServer(t)
	c, err := New(Config{
		URL: hs.URL, HTTPClient: hs.Client(), Headers: map[string]string{"Authorization": testToken},
		BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testContext(t)
	if _, err := c.CallTool(ctx, "get_indexes", nil); err != nil {
		t.Fatalf("first call: %v", err)
	}
	for ss := range hs.mcp.Sessions() {
		if err := ss.Close(); err != nil {
			t.Fatalf("close server session: %v", err)
		}
	}
	res, err := c.CallTool(ctx, "get_indexes", nil)
	if err != nil {
		t.Fatalf("call after the server dropped the session: %v", err)
	}
	if got := resultText(res); got != `["main"]` {
		t.Errorf("get_indexes = %q", got)
	}
}
