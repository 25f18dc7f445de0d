package mcpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
)

// rawSession is an MCP client over plain HTTP, as lean load clients and
// some hosts are: every header and body under the test's control.
type rawSession struct {
	t       *testing.T
	url     string
	token   string
	id      string
	version string
}

// post POSTs body with the session's headers, then header's pairs of name
// and value ("" deletes the header; ":method" sets the method, Host the
// request's host).
func (c *rawSession) post(body string, header ...string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.id != "" {
		req.Header.Set("Mcp-Session-Id", c.id)
	}
	if c.version != "" {
		req.Header.Set("Mcp-Protocol-Version", c.version)
	}
	for i := 0; i+1 < len(header); i += 2 {
		switch header[i] {
		case ":method":
			req.Method = header[i+1]
			continue
		case "Host":
			req.Host = header[i+1]
			continue
		}
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp, b.Bytes()
}

func openRaw(t *testing.T, url, token, version string) *rawSession {
	t.Helper()
	c := &rawSession{t: t, url: url, token: token}
	resp, body := c.post(fmt.Sprintf(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, version))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("initialize: %d %s", resp.StatusCode, body)
	}
	c.id, c.version = resp.Header.Get("Mcp-Session-Id"), version
	if resp, body := c.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %d %s", resp.StatusCode, body)
	}
	return c
}

func serveHTTP(t *testing.T, srv *mcpserver.Server) string {
	hs := httptest.NewServer(authenticated(srv.HTTPHandler(), func(tok string) (string, bool) {
		switch tok {
		case "good", "good2":
			return agentscope.DefaultOrgID, true
		case "other":
			return "other-org", true
		}
		return "", false
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

func call(id any, args string) string {
	idJSON, _ := json.Marshal(id)
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"record_event","arguments":%s}}`, idJSON, args)
}

// TestFastPathAnswersAsGoSDK: the same calls to a server with the
// record_event fast path and to one without get the same HTTP status,
// Content-Type and JSON-RPC answers (results, isError results, ids of both
// kinds), and the fast path answered all but the first.
func TestFastPathAnswersAsGoSDK(t *testing.T) {
	calls := []string{
		call(1, `{"session_id":"f1","type":"ToolCalled","tool":"search","call_id":"c1","event_id":"e1"}`),
		call(2, `{"session_id":"f1","type":"ToolCalled","tool":"search","call_id":"c1","event_id":"e1"}`), // a retry
		call("s-3", `{"session_id":"f1","type":"ToolCalled","tool":"search"}`),                            // call_id missing
		call(4, `{"session_id":"nope","type":"ToolCalled","tool":"search","call_id":"c"}`),
		call(5, `{"session_id":"f1","events":[{"type":"ModelInvoked","provider":"p","model":"m","event_id":"b1"},{"type":"Bogus"}]}`),
		call(9, `{"session_id":"f1","events":[{"type":"ModelInvoked","provider":"p","model":"m","event_id":"b1"},{"type":"ModelCompleted","provider":"p","model":"m","input_tokens":3,"output_tokens":4,"duration_ms":5,"event_id":"b2"}]}`),
		call(6, `{"session_id":"f1","type":"ToolCalled","tool":"search","call_id":"c2","call_id":"c3"}`), // repeated key
		call(-7, `{"session_id":"f1","type":"CostRecorded","amount_usd":0.25,"currency":"USD","event_id":"k1"}`),
		`{"params":{"arguments":{"session_id":"f1","type":"ToolReturned","tool":"search","call_id":"c1","duration_ms":12,"status":"ok","event_id":"r1"},"name":"record_event"},"id":8,"method":"tools/call","jsonrpc":"2.0"}`,
	}
	run := func(fast bool) (*mcpserver.Server, [][]any) {
		srv := newServer(t)
		if !fast {
			srv.DisableFastPath()
		}
		c := openRaw(t, serveHTTP(t, srv), "good", "2025-06-18")
		if resp, body := c.post(`{"jsonrpc":"2.0","id":100,"method":"tools/call","params":{"name":"start_run","arguments":{"session_id":"f1","agent":"bot"}}}`); resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"isError":true`)) {
			t.Fatalf("start_run: %d %s", resp.StatusCode, body)
		}
		var answers [][]any
		for _, body := range calls {
			resp, out := c.post(body)
			var v map[string]any
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("answer to %s: %s (%v)", body, out, err)
			}
			answers = append(answers, []any{resp.StatusCode, resp.Header.Get("Content-Type"), v})
		}
		return srv, answers
	}
	fastSrv, fast := run(true)
	slowSrv, slow := run(false)
	for i := range calls {
		if !reflect.DeepEqual(fast[i], slow[i]) {
			t.Errorf("call %d %s:\n fast path: %v\n go-sdk:    %v", i, calls[i], fast[i], slow[i])
		}
	}
	if got := fastSrv.FastAnswered(); got != int64(len(calls)-1) {
		t.Errorf("fast path answered %d calls, want %d (all but the first)", got, len(calls)-1)
	}
	if got := slowSrv.FastAnswered(); got != 0 {
		t.Errorf("disabled fast path answered %d calls", got)
	}
	// What was recorded is the same.
	for _, srv := range []*mcpserver.Server{fastSrv, slowSrv} {
		ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal(agentscope.DefaultOrgID))
		run, err := srv.Service().Recorder().Store().GetRun(ctx, agentscope.DefaultOrgID, "f1")
		if err != nil || run.EventCount != 5 || run.CostUSD.String() != "0.25" {
			t.Errorf("run after the calls: %+v %v, want 5 events costing 0.25", run, err)
		}
	}
}

// TestFastPathLeavesTheRestToGoSDK: whatever the fast path does not
// understand reaches go-sdk with its body intact and gets go-sdk's answer.
func TestFastPathLeavesTheRestToGoSDK(t *testing.T) {
	srv := newServer(t)
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC).UnixNano())
	srv.SetFastClock(func() time.Time { return time.Unix(0, now.Load()) })
	url := serveHTTP(t, srv)
	c := openRaw(t, url, "good", "2025-06-18")
	ok := func(what string, body string) {
		t.Helper()
		resp, out := c.post(body)
		if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"result"`)) || bytes.Contains(out, []byte(`"isError":true`)) {
			t.Fatalf("%s: %d %s", what, resp.StatusCode, out)
		}
	}
	ok("start_run", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"start_run","arguments":{"session_id":"g1","agent":"bot"}}}`)
	n := 0
	ev := func() string {
		n++
		return call(100+n, fmt.Sprintf(`{"session_id":"g1","type":"ToolCalled","tool":"t","call_id":"c%d"}`, n))
	}
	ok("first record_event", ev()) // go-sdk's: the session joins the fast path
	ok("second record_event", ev())
	if got := srv.FastAnswered(); got != 1 {
		t.Fatalf("fast path answered %d, want 1", got)
	}
	fast := srv.FastAnswered()
	sdk := func(what string, wantStatus int, wantBody string, body string, header ...string) {
		t.Helper()
		resp, out := c.post(body, header...)
		if resp.StatusCode != wantStatus || !bytes.Contains(out, []byte(wantBody)) {
			t.Errorf("%s: %d %s, want %d with %q", what, resp.StatusCode, out, wantStatus, wantBody)
		}
		if got := srv.FastAnswered(); got != fast {
			t.Errorf("%s: the fast path answered it", what)
			fast = got
		}
	}
	// Calls go-sdk answers normally.
	sdk("progress token in _meta", 200, `"accepted":1`, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"record_event","_meta":{"progressToken":"p"},"arguments":{"session_id":"g1","type":"ToolCalled","tool":"t","call_id":"m"}}}`)
	sdk("another tool", 200, `"session_id":"g1"`, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"replay_session","arguments":{"session_id":"g1"}}}`)
	sdk("a float id", 200, `"accepted":1`, strings.Replace(ev(), `"id":`+fmt.Sprint(100+n), `"id":1.5`, 1))
	sdk("jsonrpc member missing", 400, ``, strings.Replace(ev(), `"jsonrpc":"2.0",`, ``, 1))
	sdk("an unknown member", 200, `"accepted":1`, strings.Replace(ev(), `"jsonrpc":"2.0",`, `"jsonrpc":"2.0","x":1,`, 1))
	sdk("a batch", 400, `batch`, `[`+ev()+`]`)
	sdk("Mcp-Method header", 200, `"accepted":1`, ev(), "Mcp-Method", "tools/call")
	sdk("a cancelled request", 202, ``, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}`)
	// Requests go-sdk refuses.
	sdk("another protocol version", 400, `nsupported protocol version`, ev(), "Mcp-Protocol-Version", "1999-01-01")
	sdk("the session under another token", 403, `session user mismatch`, ev(), "Authorization", "Bearer other")
	sdk("no Accept of event streams", 400, `Accept`, ev(), "Accept", "application/json")
	sdk("a text body", 415, `Content-Type`, ev(), "Content-Type", "text/plain")
	sdk("an unknown session", 404, `session not found`, ev(), "Mcp-Session-Id", "nope")
	sdk("a body over 8 MiB", 413, `exceeds`, `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"record_event","arguments":{"session_id":"g1","type":"ToolCalled","tool":"t","call_id":"`+strings.Repeat("x", 8<<20)+`"}}}`)
	// A wrong token never reaches either.
	if resp, _ := c.post(ev(), "Authorization", "Bearer bad"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a bad token: %d, want 401", resp.StatusCode)
	}

	// A session go-sdk has not served for a while goes to go-sdk once,
	// which resets its idle timer, then takes the fast path again.
	now.Add(int64(2 * time.Minute))
	sdk("after two minutes on the fast path", 200, `"accepted":1`, ev())
	ok("then", ev())
	if got := srv.FastAnswered(); got != fast+1 {
		t.Errorf("after go-sdk served the session again: fast path answered %d, want %d", got, fast+1)
	}

	// A closed session is go-sdk's 404, not an answer from the fast path.
	req, _ := http.NewRequest(http.MethodDelete, url, nil)
	req.Header.Set("Authorization", "Bearer good")
	req.Header.Set("Mcp-Session-Id", c.id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	fast = srv.FastAnswered()
	sdk("a deleted session", 404, `session not found`, ev())
}
