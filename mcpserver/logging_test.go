//lint:file-ignore SA1019 logging is deprecated from protocol 2026-07-28, but hosts on 2025-11-25 use it

package mcpserver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope/mcpserver/mcptest"
)

// TestLoggingSetLevel: after logging/setLevel the client gets a
// notifications/message for each tool call at or above that level — debug
// for a call answered, warning for a call refused — and none below it;
// over protocol 2025-11-25 (the level kept by the session) and 2026-07-28
// (the level carried by each request).
func TestLoggingSetLevel(t *testing.T) {
	for name, version := range map[string]string{"2025-11-25": "2025-11-25", "2026-07-28": ""} {
		t.Run(name, func(t *testing.T) {
			msgs := make(chan *mcp.LoggingMessageParams, 16)
			f := newFeatureServer(t)
			cs := f.connect(&mcp.ClientOptions{LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) { msgs <- r.Params }}, version)
			ctx := context.Background()
			next := func() map[string]any {
				t.Helper()
				select {
				case m := <-msgs:
					data, _ := m.Data.(map[string]any)
					data["level"] = string(m.Level)
					return data
				case <-time.After(10 * time.Second):
					t.Fatal("no notifications/message")
					return nil
				}
			}
			// The level: set with logging/setLevel up to 2025-11-25, sent
			// in each request's _meta from 2026-07-28.
			level := mcp.LoggingLevel("")
			setLevel := func(l mcp.LoggingLevel) {
				t.Helper()
				level = l
				if version == "" {
					return
				}
				if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: l}); err != nil {
					t.Fatalf("logging/setLevel: %v", err)
				}
			}
			call := func(args map[string]any) *mcp.CallToolResult {
				t.Helper()
				p := &mcp.CallToolParams{Name: "get_run", Arguments: args}
				if version == "" && level != "" {
					p.Meta = mcp.Meta{mcp.MetaKeyLogLevel: string(level)}
				}
				res, err := cs.CallTool(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			// Nothing before a level is set.
			mcptest.Call(t, cs, "start_run", map[string]any{"agent": "bot", "session_id": "log-1"}, nil)
			call(map[string]any{"session_id": "nope-0"})
			setLevel("debug")
			call(map[string]any{"session_id": "log-1"})
			if m := next(); m["tool"] != "get_run" || m["level"] != "debug" || m["message"] != "ok" {
				t.Fatalf("debug message %v (a message before the level was set?)", m)
			}
			setLevel("warning")
			call(map[string]any{"session_id": "log-1"})
			if res := call(map[string]any{"session_id": "nope-1"}); !res.IsError {
				t.Fatal("get_run of an unknown session succeeded")
			}
			if m := next(); m["tool"] != "get_run" || m["level"] != "warning" || !strings.Contains(fmt.Sprint(m["message"]), "not found") {
				t.Fatalf("warning message %v (a debug one at level warning?)", m)
			}
			if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "loud"}); err == nil {
				t.Error("logging/setLevel accepted level loud")
			}
		})
	}
}
