package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMCPEventStreamOutlivesTimeouts: the MCP endpoint's GET stream
// (Streamable HTTP's channel for server messages, open for as long as the
// session) is exempt from serve's read and write timeouts and carries an
// SSE comment every AGENTSCOPE_HTTP_STREAM_KEEPALIVE: with both timeouts at
// 200 ms and the keep-alive at 100 ms, it still delivers keep-alives after
// three times the timeouts have passed, and the session still answers a
// tool call.
func TestMCPEventStreamOutlivesTimeouts(t *testing.T) {
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir(),
		"AGENTSCOPE_HTTP_READ_TIMEOUT=200ms", "AGENTSCOPE_HTTP_WRITE_TIMEOUT=200ms", "AGENTSCOPE_HTTP_STREAM_KEEPALIVE=100ms"})
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var session string
	call := func(method, body string) (*http.Response, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+"/mcp", rd)
		req.Header.Set("Authorization", "Bearer test-token-0123456789")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Content-Type", "application/json")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s /mcp: %v", method, err)
		}
		if method == "GET" {
			return resp, ""
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, b := call("POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)
	if session = resp.Header.Get("Mcp-Session-Id"); resp.StatusCode != 200 || session == "" {
		t.Fatalf("initialize: %d %s", resp.StatusCode, b)
	}
	if resp, b := call("POST", `{"jsonrpc":"2.0","method":"notifications/initialized"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %d %s", resp.StatusCode, b)
	}

	start := time.Now()
	resp, _ = call("GET", "")
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	keepAlives := 0
	for time.Since(start) < 600*time.Millisecond || keepAlives < 3 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream cut after %s and %d keep-alives: %v", time.Since(start), keepAlives, err)
		}
		if line == ": keep-alive\n" {
			keepAlives++
		}
	}
	if resp, b := call("POST", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); resp.StatusCode != 200 || !strings.Contains(b, "record_event") {
		t.Fatalf("tools/list after the stream outlived the timeouts: %d %.300s", resp.StatusCode, b)
	}
}
