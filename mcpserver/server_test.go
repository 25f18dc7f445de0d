package mcpserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/mcpserver/mcptest"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// newServer returns a server on a fresh SQLite store, closed when the test
// ends.
func newServer(t *testing.T) *mcpserver.Server {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	t.Cleanup(func() {
		rec.Close()
		st.Close()
	})
	return mcpserver.New(service.New(rec, service.Options{}), mcpserver.Options{Local: agentscope.SystemPrincipal(agentscope.DefaultOrgID)})
}

// connect serves a fresh SQLite-backed server over in-memory transports.
func connect(t *testing.T) *mcp.ClientSession {
	t.Helper()
	cs, _ := connectWith(t, nil)
	return cs
}

func TestSessionInMemory(t *testing.T) {
	cs := connect(t)
	s := mcptest.ExerciseSession(t, cs, "mem-1")
	mcptest.CheckReplay(t, s, mcptest.Replay(t, cs, "mem-1", 3))

	var run struct {
		CostUSD    json.Number `json:"cost_usd"`
		EventCount int         `json:"event_count"`
	}
	mcptest.Call(t, cs, "get_run", map[string]any{"session_id": "mem-1"}, &run)
	if run.CostUSD != "0.0023" || run.EventCount != 9 {
		t.Errorf("get_run: %+v", run)
	}
	var list struct {
		Runs []struct {
			SessionID string `json:"session_id"`
		} `json:"runs"`
	}
	mcptest.Call(t, cs, "list_runs", map[string]any{"agent": "e2e-bot", "status": "completed"}, &list)
	if len(list.Runs) != 1 || list.Runs[0].SessionID != "mem-1" {
		t.Errorf("list_runs: %+v", list)
	}
	res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "agentscope://sessions/mem-1"})
	if err != nil || len(res.Contents) != 1 || !strings.Contains(res.Contents[0].Text, `"type":"SessionCompleted"`) {
		t.Errorf("resource: %v %+v", err, res)
	}
}

func TestBadInput(t *testing.T) {
	cs := connect(t)
	mcptest.Call(t, cs, "start_run", map[string]any{"agent": "a", "session_id": "ok-1"}, nil)
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"start_run", map[string]any{"agent": "a", "session_id": "bad id!"}, "session_id"},
		{"start_run", map[string]any{"agent": "a", "session_id": strings.Repeat("x", 65)}, "session_id"},
		{"start_run", map[string]any{"agent": "a", "session_id": "ok-1"}, "already exists"},
		{"start_run", map[string]any{}, "agent"},
		{"record_event", map[string]any{"session_id": "ok-1", "type": "Nope"}, "type"},
		{"record_event", map[string]any{"session_id": "missing", "type": "ModelInvoked", "provider": "p", "model": "m"}, "not found"},
		{"record_event", map[string]any{"session_id": "ok-1", "type": "SessionStarted", "agent": "a"}, "SessionStarted"},
		// The schema has no SessionCompleted, whose status values are not
		// ToolReturned's: the answer says who writes it, not "status: enum".
		{"record_event", map[string]any{"session_id": "ok-1", "type": "SessionCompleted", "status": "completed"}, "SessionCompleted is written by AgentScope itself (start_run, end_run"},
		{"record_event", map[string]any{"session_id": "ok-1", "events": []any{map[string]any{"type": "ToolCalled", "tool": "t", "call_id": "c"}, map[string]any{"type": "SessionCompleted", "status": "failed"}}}, "SessionCompleted is written by AgentScope itself"},
		{"record_event", map[string]any{"session_id": "ok-1", "type": "ToolReturned", "tool": "t", "call_id": "c", "duration_ms": -1, "status": "ok"}, "duration_ms"},
		{"end_run", map[string]any{"session_id": "ok-1", "status": "done"}, "status"},
		{"replay_session", map[string]any{"session_id": "ok-1", "cursor": "x"}, "cursor"},
		{"replay_session", map[string]any{"session_id": "../x"}, "session_id"},
		{"list_runs", map[string]any{"status": "sleeping"}, "status"},
		{"get_run", map[string]any{"session_id": "nope"}, "not found"},
	}
	for _, c := range cases {
		msg := mcptest.CallError(t, cs, c.tool, c.args)
		if !strings.Contains(msg, c.want) {
			t.Errorf("%s %v: error %q does not mention %q", c.tool, c.args, msg, c.want)
		}
	}
}

// TestToolArgumentRefusals: arguments that fail a tool's input schema get
// an isError result (a tool execution error, as the specification asks of
// input validation, not a JSON-RPC error) that names the argument plainly,
// for the typed tools (checkToolArgs, ahead of go-sdk's own check) and
// record_event alike.
func TestToolArgumentRefusals(t *testing.T) {
	cs := connect(t)
	for _, c := range []struct {
		tool string
		args any
		want string
	}{
		{"get_run", map[string]any{}, `missing required argument "session_id"`},
		{"end_run", map[string]any{"session_id": "s"}, `missing required argument "status"`},
		{"list_runs", map[string]any{"limit": "x"}, `argument "limit": must be an integer (got "x")`},
		{"cancel_run", map[string]any{"session": "s"}, `missing required argument "session_id"; unknown argument "session" (expected one of: session_id)`},
		{"record_event", map[string]any{"session_id": 5, "type": "ToolCalled"}, `argument "session_id": must be a string (got 5)`},
	} {
		if got := mcptest.CallError(t, cs, c.tool, c.args); got != c.want {
			t.Errorf("%s %v: %q; want %q", c.tool, c.args, got, c.want)
		}
	}
}

// TestToolList checks what strict clients require of the tool list.
func TestToolList(t *testing.T) {
	cs := connect(t)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	want := map[string]bool{"start_run": false, "record_event": false, "end_run": false, "get_run": false, "list_runs": false, "replay_session": false, "cancel_run": false}
	for _, tool := range res.Tools {
		if !name.MatchString(tool.Name) {
			t.Errorf("tool name %q", tool.Name)
		}
		want[tool.Name] = true
		if tool.Annotations == nil || tool.Description == "" {
			t.Errorf("%s: no annotations or description", tool.Name)
		}
		for _, sch := range []any{tool.InputSchema, tool.OutputSchema} {
			b, _ := json.Marshal(sch)
			if hasBareTrue(t, b) {
				t.Errorf("%s: schema has a bare true: %s", tool.Name, b)
			}
		}
	}
	for n, ok := range want {
		if !ok {
			t.Errorf("tool %s missing", n)
		}
	}
}

// hasBareTrue reports whether a schema holds `true` where a schema is
// expected (a property, items or additionalProperties).
func hasBareTrue(t *testing.T, b []byte) bool {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, schemaPos bool) bool
	walk = func(v any, schemaPos bool) bool {
		switch x := v.(type) {
		case bool:
			return schemaPos && x
		case map[string]any:
			for k, c := range x {
				switch k {
				case "properties":
					if m, ok := c.(map[string]any); ok {
						for _, p := range m {
							if walk(p, true) {
								return true
							}
						}
					}
				case "items", "additionalProperties":
					if walk(c, true) {
						return true
					}
				default:
					if walk(c, false) {
						return true
					}
				}
			}
		case []any:
			for _, c := range x {
				if walk(c, false) {
					return true
				}
			}
		}
		return false
	}
	return walk(v, true)
}

// TestRecordEventRefusesRepeatedKeys: record_event's arguments with a key
// sent twice, at the top (an event field) or inside an event of a batch
// or a JSON field, are refused naming the key, never stored with one of
// the two values dropped.
func TestRecordEventRefusesRepeatedKeys(t *testing.T) {
	cs := connect(t)
	mcptest.Call(t, cs, "start_run", map[string]any{"agent": "a", "session_id": "dup-1"}, nil)
	for _, c := range []struct{ args, want string }{
		{`{"session_id":"dup-1","type":"ModelInvoked","provider":"p","model":"a","model":"b"}`, `repeats the key "model"`},
		{`{"session_id":"dup-1","type":"ToolCalled","tool":"t","call_id":"c","arguments":{"q":1,"q":2}}`, `arguments.q: repeats the key "q"`},
		{`{"session_id":"dup-1","events":[{"type":"ModelInvoked","provider":"p","provider":"q","model":"m"}]}`, `repeats the key "provider"`},
		{`{"session_id":"dup-1","type":"ModelInvoked","provider":"p","model":"\ud800"}`, `lone UTF-16 surrogate`},
	} {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "record_event", Arguments: json.RawMessage(c.args)})
		if err != nil {
			t.Fatalf("%s: %v", c.args, err)
		}
		text := ""
		for _, ct := range res.Content {
			if tc, ok := ct.(*mcp.TextContent); ok {
				text += tc.Text
			}
		}
		if !strings.Contains(text, c.want) || (!res.IsError && !strings.Contains(text, `"accepted":false`)) {
			t.Errorf("%s: error=%v %s; want a refusal saying %q", c.args, res.IsError, text, c.want)
		}
	}
	var run struct {
		EventCount int `json:"event_count"`
	}
	mcptest.Call(t, cs, "get_run", map[string]any{"session_id": "dup-1"}, &run)
	if run.EventCount != 1 { // SessionStarted only
		t.Errorf("event_count %d after refusals, want 1", run.EventCount)
	}
}

// TestRecordEventBatchLimit: record_event takes batches up to
// service.MaxBatchEvents, the cap POST /api/v1/events has too, and refuses
// one event more naming the limit.
func TestRecordEventBatchLimit(t *testing.T) {
	cs := connect(t)
	mcptest.Call(t, cs, "start_run", map[string]any{"agent": "a", "session_id": "big-1"}, nil)
	batch := func(n int) []map[string]any {
		evs := make([]map[string]any, n)
		for i := range evs {
			evs[i] = map[string]any{"type": "ToolCalled", "tool": "t", "call_id": fmt.Sprint(i)}
		}
		return evs
	}
	var out mcpserver.RecordEventOutput
	mcptest.Call(t, cs, "record_event", map[string]any{"session_id": "big-1", "events": batch(service.MaxBatchEvents)}, &out)
	if out.Accepted != service.MaxBatchEvents || out.Rejected != 0 || len(out.Results) != service.MaxBatchEvents {
		t.Errorf("a batch of %d: accepted %d, rejected %d, %d results", service.MaxBatchEvents, out.Accepted, out.Rejected, len(out.Results))
	}
	msg := mcptest.CallError(t, cs, "record_event", map[string]any{"session_id": "big-1", "events": batch(service.MaxBatchEvents + 1)})
	if want := fmt.Sprintf("must hold 1 to %d events, got %d", service.MaxBatchEvents, service.MaxBatchEvents+1); !strings.Contains(msg, want) {
		t.Errorf("a batch of %d: error %q does not say %q", service.MaxBatchEvents+1, msg, want)
	}
}

// authenticated stands in front of HTTPHandler as web.Server's bearer
// authentication does: a token verify knows signs in as the owner of its
// organisation; any other request gets 401.
func authenticated(h http.Handler, verify func(token string) (org string, ok bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		org, ok := verify(tok)
		if !strings.EqualFold(scheme, "Bearer") || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="test"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		p := agentscope.Principal{Kind: agentscope.PrincipalInstance, OrgID: org, Role: agentscope.RoleOwner}
		h.ServeHTTP(w, r.WithContext(agentscope.WithPrincipal(r.Context(), p)))
	})
}
