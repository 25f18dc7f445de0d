package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
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

// mcpgoConnect starts an mcp-go client on AgentScope over tr ("http": the
// serve at mcpURL with the bearer token; "stdio": `agentscope mcp`
// spawned by mcp-go) and completes initialize.
func mcpgoConnect(t *testing.T, tr, mcpURL, runtimeDir string) (*mcpgoclient.Client, *mcpgo.InitializeResult) {
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
	// mcp-go v1.2.1 asks for 2026-07-28 by default, which go-sdk's stateful
	// Streamable HTTP server refuses (naming the versions it does take)
	// and mcp-go does not fall back from; ask for the version AgentScope
	// speaks (the tools/list schema test checks against it).
	init, err := c.Initialize(ctx, mcpgo.InitializeRequest{Params: mcpgo.InitializeParams{
		ProtocolVersion: "2025-11-25",
		ClientInfo:      mcpgo.Implementation{Name: "mcp-go-interop", Version: "1"},
	}})
	if err != nil {
		t.Fatalf("initialize over %s: %v", tr, err)
	}
	return c, init
}

// TestMCPGoClient drives AgentScope with mcp-go's client over Streamable
// HTTP and stdio: initialize, the tool, resource and prompt lists, and a
// recording (start, events, a batch, end, replay page by page, the session
// resource), checking every structured result against its tool's output
// schema.
func TestMCPGoClient(t *testing.T) {
	runtimeDir := t.TempDir()
	mcpURL := serve(t, runtimeDir)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			c, init := mcpgoConnect(t, tr, mcpURL, runtimeDir)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if init.ServerInfo.Name != "agentscope" || init.Capabilities.Tools == nil {
				t.Fatalf("initialize: %+v", init)
			}
			tools, err := c.ListTools(ctx, mcpgo.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			schemas := map[string]*jsonschema.Resolved{}
			for _, tool := range tools.Tools {
				if tool.InputSchema.Type != "object" || tool.Description == "" {
					t.Errorf("%s: input schema type %q, description %q", tool.Name, tool.InputSchema.Type, tool.Description)
				}
				if tool.OutputSchema.Type == "" {
					continue
				}
				if tool.OutputSchema.Type != "object" {
					t.Errorf("%s: output schema type %q", tool.Name, tool.OutputSchema.Type)
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
			for _, n := range []string{"start_run", "record_event", "end_run", "get_run", "replay_session", "run_spl"} {
				if _, ok := schemas[n]; !ok {
					t.Errorf("tools/list has no %s with an output schema", n)
				}
			}
			if _, err := c.ListResources(ctx, mcpgo.ListResourcesRequest{}); err != nil {
				t.Errorf("resources/list: %v", err)
			}
			if init.Capabilities.Prompts != nil {
				if _, err := c.ListPrompts(ctx, mcpgo.ListPromptsRequest{}); err != nil {
					t.Errorf("prompts/list: %v", err)
				}
			}

			call := func(name string, args map[string]any, out any) {
				t.Helper()
				res, err := c.CallTool(ctx, mcpgo.CallToolRequest{Params: mcpgo.CallToolParams{Name: name, Arguments: args}})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
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
			agent := "mcpgo-" + tr
			var started struct {
				SessionID string `json:"session_id"`
			}
			call("start_run", map[string]any{"agent": agent, "input": map[string]any{"task": "interop"}}, &started)
			var rec struct{ Accepted, Rejected int }
			call("record_event", map[string]any{"session_id": started.SessionID, "event_id": "m1", "type": "ModelCompleted", "provider": "openai", "model": "gpt-4.1-mini",
				"duration_ms": 812.5, "tokens_in": 120, "tokens_out": 40}, &rec)
			if rec.Accepted != 1 {
				t.Fatalf("record_event: %+v", rec)
			}
			batch := []any{}
			for i := range 12 {
				batch = append(batch, map[string]any{"type": "ToolCalled", "tool": "fetch", "call_id": fmt.Sprint(i), "event_id": fmt.Sprintf("b%d", i)})
			}
			call("record_event", map[string]any{"session_id": started.SessionID, "events": batch}, &rec)
			if rec.Accepted != 12 {
				t.Fatalf("batch: %+v", rec)
			}
			call("end_run", map[string]any{"session_id": started.SessionID, "status": "completed"}, nil)
			var seqs []int64
			cursor := ""
			for pages := 0; ; pages++ {
				args := map[string]any{"session_id": started.SessionID, "limit": 5}
				if cursor != "" {
					args["cursor"] = cursor
				}
				var page struct {
					Events []struct {
						Seq int64 `json:"seq"`
					} `json:"events"`
					NextCursor string `json:"next_cursor"`
				}
				call("replay_session", args, &page)
				for _, e := range page.Events {
					seqs = append(seqs, e.Seq)
				}
				if cursor = page.NextCursor; cursor == "" || pages > 20 {
					break
				}
			}
			if len(seqs) != 16 || seqs[0] != 1 || seqs[15] != 16 { // with the computed cost of the unpriced model call
				t.Errorf("replay: seqs %v, want 1..16", seqs)
			}
			res, err := c.ReadResource(ctx, mcpgo.ReadResourceRequest{Params: mcpgo.ReadResourceParams{URI: "agentscope://sessions/" + started.SessionID}})
			if err != nil || len(res.Contents) != 1 {
				t.Fatalf("session resource: %v %+v", err, res)
			}
			text, ok := res.Contents[0].(mcpgo.TextResourceContents)
			if !ok || !strings.Contains(text.Text, `"type":"SessionCompleted"`) {
				t.Errorf("session resource: %T %+v", res.Contents[0], res.Contents[0])
			}
			// A refused event is a tool error the model can read, not a
			// protocol error.
			bad, err := c.CallTool(ctx, mcpgo.CallToolRequest{Params: mcpgo.CallToolParams{Name: "record_event", Arguments: map[string]any{"session_id": started.SessionID, "type": "NoSuchType"}}})
			if err != nil || !bad.IsError {
				t.Errorf("unknown type: %v %+v", err, bad)
			}
		})
	}
}

// fakeSplunk is a Splunk MCP server written with mcp-go: splunk_run_query
// answers rows for the query it is given, or a tool error for "fail".
func fakeSplunk() *mcpgoserver.MCPServer {
	s := mcpgoserver.NewMCPServer("fake-splunk", "1.0.0", mcpgoserver.WithToolCapabilities(false))
	s.AddTool(mcpgo.NewTool("splunk_run_query",
		mcpgo.WithDescription("Run a Splunk search"),
		mcpgo.WithString("query", mcpgo.Required(), mcpgo.Description("SPL")),
		mcpgo.WithString("earliest_time"), mcpgo.WithString("latest_time"), mcpgo.WithNumber("row_limit"),
	), func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		q := req.GetString("query", "")
		if strings.Contains(q, "fail") {
			return mcpgo.NewToolResultError("Search failed: Unknown search command 'fail'."), nil
		}
		rows := []map[string]any{
			{"query": q, "earliest": req.GetString("earliest_time", ""), "limit": req.GetInt("row_limit", 0)},
			{"agent": "support-bot", "count": "3"},
		}
		return mcpgo.NewToolResultStructured(map[string]any{"results": rows}, "2 results"), nil
	})
	return s
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
// over Streamable HTTP and over stdio, and gets its rows and its errors.
func TestClientAgainstMCPGoServer(t *testing.T) {
	httpSrv := httptest.NewServer(mcpgoserver.NewStreamableHTTPServer(fakeSplunk()))
	defer httpSrv.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]client.Config{
		"http":  {URL: httpSrv.URL + "/mcp", Headers: map[string]string{"Authorization": "Bearer x"}},
		"stdio": {Command: self, Env: []string{"INTEROP_MCPGO_STDIO_SERVER=1"}},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s := client.NewSearcher(c, nil)
			rows, err := s.Search(ctx, `index=agentscope | stats count by agent`, "-24h", "now", 50)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0]["query"] != "index=agentscope | stats count by agent" || rows[0]["earliest"] != "-24h" || fmt.Sprint(rows[0]["limit"]) != "50" || rows[1]["agent"] != "support-bot" {
				t.Fatalf("rows %v", rows)
			}
			_, err = s.Search(ctx, "fail", "", "", 10)
			if err == nil || !strings.Contains(err.Error(), "Unknown search command") {
				t.Fatalf("a search the server refused: %v", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
		})
	}
}
