package mcpserver_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPRefusalsAreJSONRPCErrors posts raw bodies to /mcp's handler and
// holds each refusal to the status the Streamable HTTP specification asks
// for, with a JSON-RPC error as an application/json body whose code says
// what was wrong (go-sdk v1.8.0 answered plain text, or code 0; see
// third_party/go-sdk/PATCHED.md). A call is answered as stdio answers it:
// a JSON-RPC response with its id. What cannot be tied to a request (a
// body that is not one, a notification, an unknown session) has id null,
// and so has a refusal by the transport itself (a header, body size or
// method it does not accept), of code -32000.
func TestHTTPRefusalsAreJSONRPCErrors(t *testing.T) {
	srv := newServer(t)
	url := serveHTTP(t, srv)
	c := openRaw(t, url, "good", "2025-06-18")
	const list = `{"jsonrpc":"2.0","id":15,"method":"tools/list"}`
	cases := []struct {
		name       string
		body       string
		header     []string // pairs of name, value; "" deletes
		wantStatus int
		wantCode   float64
		wantID     any // nil for id null
	}{
		{"not JSON", `{"jsonrpc":"2.0","id":1,"method":`, nil, http.StatusBadRequest, -32700, nil},
		{"not JSON either", `hello`, nil, http.StatusBadRequest, -32700, nil},
		{"an empty body", ``, nil, http.StatusBadRequest, -32700, nil},
		{"JSON without the jsonrpc member", `{"id":1,"method":"tools/list"}`, nil, http.StatusBadRequest, -32600, nil},
		{"JSON that is no message", `[]`, nil, http.StatusBadRequest, -32600, nil},
		{"a batch, which 2025-06-18 has not", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]`, nil, http.StatusBadRequest, -32600, nil},
		{"an unknown method", `{"jsonrpc":"2.0","id":7,"method":"tools/frobnicate"}`, nil, http.StatusOK, -32601, 7.0},
		{"an unknown method, string id", `{"jsonrpc":"2.0","id":"q-1","method":"nope"}`, nil, http.StatusOK, -32601, "q-1"},
		{"an unknown notification", `{"jsonrpc":"2.0","method":"notifications/frobnicated"}`, nil, http.StatusBadRequest, -32601, nil},
		{"a request without its id", `{"jsonrpc":"2.0","method":"tools/list"}`, nil, http.StatusBadRequest, -32600, nil},
		{"a call without its params", `{"jsonrpc":"2.0","id":8,"method":"tools/call"}`, nil, http.StatusOK, -32600, 8.0},
		{"no session", `{"jsonrpc":"2.0","id":9,"method":"tools/list"}`, []string{"Mcp-Session-Id", ""}, http.StatusBadRequest, -32600, 9.0},
		{"no session, a tool call", `{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"get_run","arguments":{"session_id":"s"}}}`, []string{"Mcp-Session-Id", ""}, http.StatusBadRequest, -32600, 10.0},
		{"an unknown session", `{"jsonrpc":"2.0","id":11,"method":"tools/list"}`, []string{"Mcp-Session-Id", "no-such-session"}, http.StatusNotFound, -32001, nil},
		// Refusals by the transport, before a session sees the request:
		// -32000, as the TypeScript SDK's server answers them.
		{"a body that is not application/json", list, []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType, -32000, nil},
		{"an Accept without text/event-stream", list, []string{"Accept", "application/json"}, http.StatusBadRequest, -32000, nil},
		{"an unsupported protocol version", list, []string{"Mcp-Protocol-Version", "1999-01-01"}, http.StatusBadRequest, -32000, nil},
		{"a body too large", `{"jsonrpc":"2.0","id":14,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 8<<20) + `"}}`, nil, http.StatusRequestEntityTooLarge, -32000, nil},
		{"a foreign Host on loopback", list, []string{"Host", "evil.example"}, http.StatusForbidden, -32000, nil},
		{"a foreign Origin", list, []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden, -32000, nil},
		{"a method /mcp does not serve", list, []string{":method", http.MethodPut}, http.StatusMethodNotAllowed, -32000, nil},
		{"a GET without a session", ``, []string{":method", http.MethodGet, "Mcp-Session-Id", ""}, http.StatusBadRequest, -32000, nil},
		{"a DELETE without a session", ``, []string{":method", http.MethodDelete, "Mcp-Session-Id", ""}, http.StatusBadRequest, -32000, nil},
		{"a POST with Last-Event-ID", list, []string{"Last-Event-ID", "0_1"}, http.StatusBadRequest, -32000, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := c.post(tc.body, tc.header...)
			var msg struct {
				JSONRPC string          `json:"jsonrpc"`
				ID      json.RawMessage `json:"id"`
				Error   *struct {
					Code    float64 `json:"code"`
					Message string  `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(out, &msg); err != nil {
				t.Fatalf("body %q is not JSON: %v", out, err)
			}
			if tc.wantStatus == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("status %d, Content-Type %q; want %d, application/json", resp.StatusCode, resp.Header.Get("Content-Type"), tc.wantStatus)
			}
			if msg.JSONRPC != "2.0" || msg.Error == nil || msg.Error.Code != tc.wantCode || msg.Error.Message == "" {
				t.Fatalf("body %s; want a JSON-RPC error with code %v", out, tc.wantCode)
			}
			var id any
			if err := json.Unmarshal(msg.ID, &id); err != nil || id != tc.wantID {
				t.Errorf("id %s; want %v (body %s)", msg.ID, tc.wantID, out)
			}
		})
	}

	// Calls the handshake allows still work without a session; the refused
	// ones left none behind.
	if resp, out := c.post(`{"jsonrpc":"2.0","id":12,"method":"ping"}`, "Mcp-Session-Id", ""); resp.StatusCode != http.StatusOK || string(out) != `{"jsonrpc":"2.0","id":12,"result":{}}` {
		t.Errorf("ping without a session: %d %s", resp.StatusCode, out)
	}
	// go-sdk closes a session its first POST did not initialize once the
	// POST is answered; the closing finishes in the background.
	n := 0
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n = 0
		for range srv.MCP.Sessions() {
			n++
		}
		if n == 1 || time.Now().After(deadline) {
			break
		}
	}
	if n != 1 {
		t.Errorf("%d sessions after the refusals, want 1 (the test's own)", n)
	}
	// The session survived every refusal.
	if resp, out := c.post(`{"jsonrpc":"2.0","id":13,"method":"tools/list"}`); resp.StatusCode != http.StatusOK || !json.Valid(out) {
		t.Errorf("tools/list after the refusals: %d %s", resp.StatusCode, out)
	}
}
