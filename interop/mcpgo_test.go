package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	mcpgoclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	mcpgoserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentscope/agentscope/client"
)

// The design card's second MCP library, github.com/mark3labs/mcp-go, an
// implementation independent of the go-sdk AgentScope is built on: its
// client against AgentScope's server, and AgentScope's client/ against a
// server written with it.

// mcpgoVariants are the ways an mcp-go client reaches AgentScope: over
// Streamable HTTP with its defaults (mcp-go probes with server/discover at
// 2026-07-28, /mcp refuses it and the client falls back to the 2025-11-25
// handshake), over stdio with its defaults (the 2026-07-28 protocol, each
// request carrying its own version), and over stdio pinned to the
// handshake.
var mcpgoVariants = []struct {
	name, transport, pin, want string
}{
	{"http", "http", "", "2025-11-25"},
	{"stdio", "stdio", "", "2026-07-28"},
	{"stdio-2025-11-25", "stdio", "2025-11-25", "2025-11-25"},
}

// mcpgoConnect starts an mcp-go client on AgentScope over tr ("http": the
// serve at mcpURL with the bearer token; "stdio": `agentscope mcp`
// spawned by mcp-go) and completes initialize, asking for protocol pin
// (mcp-go's default when empty).
func mcpgoConnect(t *testing.T, tr, pin, mcpURL, runtimeDir string) (*mcpgoclient.Client, *mcpgo.InitializeResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		c   *mcpgoclient.Client
		err error
	)
	switch tr {
	case "http":
		c, err = mcpgoclient.NewStreamableHttpClient(mcpURL, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
		if err == nil {
			err = c.Start(ctx)
		}
	case "stdio":
		dir := t.TempDir()
		c, err = mcpgoclient.NewStdioMCPClient(binary(t), cleanEnv("AGENTSCOPE_DATA_DIR="+dir, "HOME="+dir, "XDG_RUNTIME_DIR="+runtimeDir), "mcp")
	}
	if err != nil {
		t.Fatalf("mcp-go client over %s: %v", tr, err)
	}
	t.Cleanup(func() { c.Close() })
	init, err := c.Initialize(ctx, mcpgo.InitializeRequest{Params: mcpgo.InitializeParams{
		ProtocolVersion: pin,
		ClientInfo:      mcpgo.Implementation{Name: "mcp-go-interop", Version: "1"},
	}})
	if err != nil {
		t.Fatalf("initialize over %s: %v", tr, err)
	}
	return c, init
}

// TestMCPGoClient drives AgentScope with mcp-go's client over Streamable
// HTTP and stdio through the flow of scripts/recording.mjs: initialize, the
// tool, resource, template and prompt lists, a recording (one event of
// every type, a retry, a conflict, an unknown type, a batch, end), get_run,
// list_runs, replay page by page and the session resource, checking every
// structured result against its tool's output schema.
func TestMCPGoClient(t *testing.T) {
	runtimeDir := t.TempDir()
	mcpURL := serve(t, runtimeDir)
	for _, v := range mcpgoVariants {
		t.Run(v.name, func(t *testing.T) {
			c, init := mcpgoConnect(t, v.transport, v.pin, mcpURL, runtimeDir)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if init.ServerInfo.Name != "agentscope" || init.ServerInfo.Version == "" || init.Capabilities.Tools == nil {
				t.Fatalf("initialize: %+v", init)
			}
			if init.ProtocolVersion != v.want {
				t.Errorf("negotiated protocol %q, want %q", init.ProtocolVersion, v.want)
			}
			tools, err := c.ListTools(ctx, mcpgo.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			schemas := map[string]*jsonschema.Resolved{}
			for _, tool := range tools.Tools {
				if tool.InputSchema.Type != "object" || tool.OutputSchema.Type != "object" || tool.Description == "" {
					t.Errorf("%s: input schema type %q, output schema type %q, description %q", tool.Name, tool.InputSchema.Type, tool.OutputSchema.Type, tool.Description)
					continue
				}
				raw, _ := json.Marshal(tool.OutputSchema)
				var s jsonschema.Schema
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatalf("%s output schema: %v", tool.Name, err)
				}
				if schemas[tool.Name], err = s.Resolve(nil); err != nil {
					t.Fatalf("%s output schema: %v", tool.Name, err)
				}
			}
			for _, n := range []string{"start_run", "record_event", "end_run", "get_run", "list_runs", "replay_session", "run_spl"} {
				if _, ok := schemas[n]; !ok {
					t.Errorf("tools/list has no %s with an output schema", n)
				}
			}
			if _, err := c.ListResources(ctx, mcpgo.ListResourcesRequest{}); err != nil {
				t.Errorf("resources/list: %v", err)
			}
			templates, err := c.ListResourceTemplates(ctx, mcpgo.ListResourceTemplatesRequest{})
			if err != nil {
				t.Errorf("resources/templates/list: %v", err)
			} else if !slices.ContainsFunc(templates.ResourceTemplates, func(rt mcpgo.ResourceTemplate) bool {
				return rt.URITemplate != nil && rt.URITemplate.Raw() == "agentscope://sessions/{session_id}"
			}) {
				t.Errorf("no session resource template in %+v", templates.ResourceTemplates)
			}
			if init.Capabilities.Prompts != nil {
				if _, err := c.ListPrompts(ctx, mcpgo.ListPromptsRequest{}); err != nil {
					t.Errorf("prompts/list: %v", err)
				}
			}

			callRaw := func(name string, args map[string]any) *mcpgo.CallToolResult {
				t.Helper()
				res, err := c.CallTool(ctx, mcpgo.CallToolRequest{Params: mcpgo.CallToolParams{Name: name, Arguments: args}})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return res
			}
			call := func(name string, args map[string]any, out any) {
				t.Helper()
				res := callRaw(name, args)
				if res.IsError {
					t.Fatalf("%s: tool error %+v", name, res.Content)
				}
				raw := res.RawStructuredContent
				if len(raw) == 0 {
					raw, _ = json.Marshal(res.StructuredContent)
				}
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatalf("%s: structured content %s: %v", name, raw, err)
				}
				if err := schemas[name].Validate(v); err != nil {
					t.Errorf("%s: result does not match its output schema: %v\n%s", name, err, raw)
				}
				if out != nil {
					if err := json.Unmarshal(raw, out); err != nil {
						t.Fatal(err)
					}
				}
			}
			// callError is the text of the tool error a call must return: a
			// refusal the model can read, not a protocol error.
			callError := func(name string, args map[string]any) string {
				t.Helper()
				res := callRaw(name, args)
				if !res.IsError || len(res.Content) == 0 {
					t.Fatalf("%s %v: want a tool error, got %+v", name, args, res)
				}
				return mcpgo.GetTextFromContent(res.Content[0])
			}

			agent := "mcpgo-" + v.name
			var started struct {
				SessionID string `json:"session_id"`
			}
			call("start_run", map[string]any{"agent": agent, "input": map[string]any{"task": "interop"}}, &started)
			sid := started.SessionID
			if sid == "" {
				t.Fatal("start_run returned no session_id")
			}
			type recorded struct {
				Accepted, Rejected int
				Results            []struct {
					Seq       int64
					Duplicate bool
				}
			}
			// One event of every type record_event accepts, each with its
			// required fields.
			single := []map[string]any{
				{"type": "ModelInvoked", "provider": "openai", "model": "gpt-4.1-mini", "input": map[string]any{"messages": 1}},
				{"type": "ModelCompleted", "provider": "openai", "model": "gpt-4.1-mini", "duration_ms": 812.5, "tokens_in": 120, "tokens_out": 40, "cache_read_tokens": 20, "finish_reason": "stop", "output": "hi"},
				{"type": "ToolCalled", "tool": "search", "call_id": "c1", "arguments": map[string]any{"q": "x"}},
				{"type": "ToolReturned", "tool": "search", "call_id": "c1", "duration_ms": 12, "status": "ok", "result": map[string]any{"hits": 3}},
				{"type": "CostRecorded", "amount_usd": 0.0123, "currency": "USD", "model": "gpt-4.1-mini", "provider": "openai", "source": "interop"},
			}
			withID := func(i int, ev map[string]any) map[string]any {
				args := map[string]any{"session_id": sid, "event_id": fmt.Sprintf("ev-%d", i), "attributes": map[string]any{"n": i, "ok": true}}
				maps.Copy(args, ev)
				return args
			}
			var seq int64
			for i, ev := range single {
				var rec recorded
				call("record_event", withID(i, ev), &rec)
				if rec.Accepted != 1 || rec.Rejected != 0 || len(rec.Results) != 1 || rec.Results[0].Seq <= seq {
					t.Fatalf("record_event %s: %+v (previous seq %d)", ev["type"], rec, seq)
				}
				seq = rec.Results[0].Seq
			}
			// The same event again (a retry) is stored once; the same
			// event_id with another body is refused, naming it.
			var dup recorded
			call("record_event", withID(0, single[0]), &dup)
			if len(dup.Results) != 1 || !dup.Results[0].Duplicate {
				t.Errorf("retried event: %+v", dup)
			}
			conflict := withID(0, single[0])
			delete(conflict, "attributes")
			if msg := callError("record_event", conflict); !strings.Contains(msg, "ev-0") || !strings.Contains(msg, "different body") {
				t.Errorf("conflicting event_id: %q", msg)
			}
			if msg := callError("record_event", map[string]any{"session_id": sid, "type": "NoSuchType"}); !strings.Contains(msg, "NoSuchType") {
				t.Errorf("unknown type: %q", msg)
			}
			var batch []any
			for i := range 30 {
				batch = append(batch, map[string]any{"type": "ToolCalled", "tool": "fetch", "call_id": fmt.Sprintf("b%d", i), "event_id": fmt.Sprintf("batch-%d", i)})
			}
			var b recorded
			call("record_event", map[string]any{"session_id": sid, "events": batch}, &b)
			if b.Accepted != 30 || b.Rejected != 0 || len(b.Results) != 30 {
				t.Fatalf("batch: %+v", b)
			}
			var ended, got struct{ Status, Agent string }
			call("end_run", map[string]any{"session_id": sid, "status": "completed", "output": map[string]any{"answer": 42}}, &ended)
			call("get_run", map[string]any{"session_id": sid}, &got)
			if ended.Status != "completed" || got.Status != "completed" || got.Agent != agent {
				t.Errorf("end_run %+v, get_run %+v", ended, got)
			}
			var runs struct {
				Runs []struct {
					SessionID string `json:"session_id"`
				}
			}
			call("list_runs", map[string]any{"agent": agent}, &runs)
			if !slices.ContainsFunc(runs.Runs, func(r struct {
				SessionID string `json:"session_id"`
			}) bool {
				return r.SessionID == sid
			}) {
				t.Errorf("list_runs has not the run: %+v", runs)
			}

			// Replay page by page, following next_cursor: SessionStarted,
			// the 5 single events, the 30 of the batch, SessionCompleted.
			type replayed struct {
				Seq  int64
				Type string
			}
			var events []replayed
			cursor, pages := "", 0
			for {
				args := map[string]any{"session_id": sid, "limit": 7}
				if cursor != "" {
					args["cursor"] = cursor
				}
				var page struct {
					Events     []replayed
					NextCursor string `json:"next_cursor"`
				}
				call("replay_session", args, &page)
				events = append(events, page.Events...)
				pages++
				if cursor = page.NextCursor; cursor == "" {
					break
				}
				if pages >= 100 {
					t.Fatal("replay does not end")
				}
			}
			if len(events) != 37 || pages < 6 {
				t.Fatalf("replay: %d events in %d pages, want 37 in at least 6", len(events), pages)
			}
			types := map[string]bool{}
			for i, e := range events {
				if i > 0 && e.Seq <= events[i-1].Seq {
					t.Errorf("replay out of order at %d: %v", i, events[i-1:i+1])
				}
				types[e.Type] = true
			}
			for _, want := range []string{"SessionStarted", "SessionCompleted", "ModelInvoked", "ModelCompleted", "ToolCalled", "ToolReturned", "CostRecorded"} {
				if !types[want] {
					t.Errorf("replay has no %s: %v", want, types)
				}
			}

			res, err := c.ReadResource(ctx, mcpgo.ReadResourceRequest{Params: mcpgo.ReadResourceParams{URI: "agentscope://sessions/" + sid}})
			if err != nil || len(res.Contents) != 1 {
				t.Fatalf("session resource: %v %+v", err, res)
			}
			text, ok := res.Contents[0].(mcpgo.TextResourceContents)
			var body struct {
				Run struct {
					SessionID string `json:"session_id"`
				}
				Events []json.RawMessage
			}
			if !ok || text.MIMEType != "application/json" || json.Unmarshal([]byte(text.Text), &body) != nil || body.Run.SessionID != sid || len(body.Events) != 37 {
				t.Errorf("session resource: %T %.300v", res.Contents[0], res.Contents[0])
			}
		})
	}
}

// splunkRows are the rows the fake Splunk server below serves for query q
// after its first row, which echoes the arguments it was called with.
// Answered as text, they include 2^53+1, which the client keeps exactly
// (as json.Number); structuredContent is decoded by go-sdk before the
// client sees it, so its numbers are exact only up to 2^53 (as Search
// documents).
func splunkRows(q string) []map[string]any {
	rows := []map[string]any{
		{"agent": "support-bot", "count": "3", "_time": "2026-12-01T10:00:00.000+00:00"},
		{"agent": "billing-bot", "count": json.Number("12"), "tags": []any{"a", "b"}, "nested": map[string]any{"ok": true}},
	}
	if strings.Contains(q, "as_text") {
		rows = append(rows, map[string]any{"bytes": json.Number("9007199254740993")})
	}
	return rows
}

// fakeSplunk is a Splunk MCP server written with mcp-go, its search tool
// named and shaped as the Splunk MCP Server app's: splunk_run_query(query,
// earliest_time, latest_time, row_limit). It answers a row echoing its
// arguments and then splunkRows(query): as structuredContent (with the same JSON
// as text), or only as JSON text when the query contains "as_text" (as
// the Splunk app answers). A query containing "fail" gets a tool error
// (isError, as for an SPL syntax error), one containing "boom" a JSON-RPC
// error.
func fakeSplunk() *mcpgoserver.MCPServer {
	s := mcpgoserver.NewMCPServer("fake-splunk", "1.0.0", mcpgoserver.WithToolCapabilities(false))
	s.AddTool(mcpgo.NewTool("splunk_get_indexes", mcpgo.WithDescription("List indexes")),
		func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			return mcpgo.NewToolResultText(`{"results":[]}`), nil
		})
	s.AddTool(mcpgo.NewTool("splunk_run_query",
		mcpgo.WithDescription("Run a Splunk search"),
		mcpgo.WithString("query", mcpgo.Required(), mcpgo.Description("SPL")),
		mcpgo.WithString("earliest_time"), mcpgo.WithString("latest_time"), mcpgo.WithNumber("row_limit"),
	), func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		q := req.GetString("query", "")
		switch {
		case strings.Contains(q, "fail"):
			return mcpgo.NewToolResultError("Search failed: Unknown search command 'fail'."), nil
		case strings.Contains(q, "boom"):
			return nil, errors.New("splunkd is unreachable")
		}
		echo := map[string]any{}
		for k, v := range req.GetArguments() {
			echo[k] = v
		}
		text, err := json.Marshal(map[string]any{"results": append([]map[string]any{echo}, splunkRows(q)...)})
		if err != nil {
			return nil, err
		}
		if strings.Contains(q, "as_text") {
			return mcpgo.NewToolResultText(string(text)), nil
		}
		return mcpgo.NewToolResultStructured(json.RawMessage(text), string(text)), nil
	})
	return s
}

// withoutDiscover makes h a server of the 2025 era, as the Splunk MCP
// Server app is: server/discover is an unknown method, so a client falls
// back to the initialize handshake.
func withoutDiscover(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			var msg struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
			}
			if json.Unmarshal(body, &msg) == nil && msg.Method == "server/discover" {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Method not found"}}`, msg.ID)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h.ServeHTTP(w, r)
	})
}

// TestMain's hook: the test binary serves fakeSplunk over stdio when asked,
// so AgentScope's client can spawn an mcp-go server.
func init() {
	if os.Getenv("INTEROP_MCPGO_STDIO_SERVER") == "1" {
		if err := mcpgoserver.ServeStdio(fakeSplunk()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// TestClientAgainstMCPGoServer: AgentScope's client/ (how it consumes the
// Splunk MCP server) finds the search tool of a server written with mcp-go,
// over Streamable HTTP (stateful, stateless, and without server/discover as
// a 2025-era server) and over stdio, and gets
// exactly the rows served, from structuredContent or from JSON text, and
// the server's errors as errors naming what went wrong.
func TestClientAgainstMCPGoServer(t *testing.T) {
	stateful := httptest.NewServer(mcpgoserver.NewStreamableHTTPServer(fakeSplunk()))
	defer stateful.Close()
	stateless := httptest.NewServer(mcpgoserver.NewStreamableHTTPServer(fakeSplunk(), mcpgoserver.WithStateLess(true)))
	defer stateless.Close()
	legacy := httptest.NewServer(withoutDiscover(mcpgoserver.NewStreamableHTTPServer(fakeSplunk())))
	defer legacy.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		cfg      client.Config
		protocol string // negotiated
	}{
		{"http", client.Config{URL: stateful.URL + "/mcp", Headers: map[string]string{"Authorization": "Bearer x"}}, "2026-07-28"},
		{"http-stateless", client.Config{URL: stateless.URL + "/mcp"}, "2026-07-28"},
		{"http-legacy", client.Config{URL: legacy.URL + "/mcp"}, "2025-11-25"},
		{"stdio", client.Config{Command: self, Env: []string{"INTEROP_MCPGO_STDIO_SERVER=1"}}, "2026-07-28"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			tc.cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			tc.cfg.MaxAttempts = 1
			c, err := client.New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s := client.NewSearcher(c, nil)
			for _, q := range []string{"index=agentscope | stats count by agent", "index=agentscope as_text | stats count by agent"} {
				rows, err := s.Search(ctx, q, "-24h", "now", 50)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				want := append([]map[string]any{{"query": q, "earliest_time": "-24h", "latest_time": "now", "row_limit": 50}}, splunkRows(q)...)
				got, _ := json.Marshal(rows)
				served, _ := json.Marshal(want)
				if string(got) != string(served) {
					t.Errorf("%s: rows\n%s\nwant the rows served\n%s", q, got, served)
				}
			}
			if !strings.Contains(logs.String(), `"server_name":"fake-splunk"`) || !strings.Contains(logs.String(), `"protocol":"`+tc.protocol+`"`) {
				t.Errorf("the client did not log connecting to fake-splunk at protocol %s:\n%s", tc.protocol, logs.String())
			}

			_, err = s.Search(ctx, "fail", "", "", 10)
			var toolErr *client.ToolError
			if !errors.As(err, &toolErr) || toolErr.Tool != "splunk_run_query" || !strings.Contains(err.Error(), "Unknown search command 'fail'") {
				t.Errorf("a search the server refused: %v", err)
			}
			_, err = s.Search(ctx, "boom", "", "", 10)
			if err == nil || errors.As(err, &toolErr) || !strings.Contains(err.Error(), "splunkd is unreachable") {
				t.Errorf("a search the server failed: %v", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
		})
	}
}
