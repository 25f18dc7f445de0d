// Package mcptest drives AgentScope's MCP tools the way a client does, for
// the end-to-end tests of every transport (in-memory, stdio, Streamable
// HTTP): start a run, record a mixed session, end it, replay it and compare
// field by field.
package mcptest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Call calls a tool and decodes its structured result into out. It fails the
// test on a protocol error or an isError result.
func Call(t testing.TB, cs *mcp.ClientSession, tool string, args any, out any) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	if res.IsError {
		t.Fatalf("%s: tool error: %s", tool, Text(res))
	}
	if out == nil {
		return
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: decode %s: %v", tool, b, err)
	}
}

// CallError calls a tool that must fail and returns its error text.
func CallError(t testing.TB, cs *mcp.ClientSession, tool string, args any) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v; want an isError result", tool, err)
	}
	if !res.IsError {
		t.Fatalf("%s succeeded; want an error", tool)
	}
	return Text(res)
}

// Text returns a result's text content.
func Text(res *mcp.CallToolResult) string {
	var s string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			s += tc.Text
		}
	}
	return s
}

// Session is what ExerciseSession recorded.
type Session struct {
	SessionID string
	// Sent are the events as sent (flat fields), in order, without the
	// server's SessionStarted and SessionCompleted.
	Sent []map[string]any
}

// ExerciseSession starts a run, records a mixed session (a model turn with
// a nested tool call, a failed tool call, a cost, a retried duplicate and a
// batch), ends it, and returns what it sent.
func ExerciseSession(t testing.TB, cs *mcp.ClientSession, sessionID string) Session {
	t.Helper()
	var started struct {
		SessionID string `json:"session_id"`
		Status    string `json:"status"`
	}
	Call(t, cs, "start_run", map[string]any{"agent": "e2e-bot", "input": map[string]any{"task": "summarise costs"}, "metadata": map[string]string{"env": "test"}, "session_id": sessionID}, &started)
	if started.SessionID != sessionID || started.Status != "running" {
		t.Fatalf("start_run: %+v", started)
	}
	s := Session{SessionID: sessionID}
	single := []map[string]any{
		{"event_id": "m1-in", "type": "ModelInvoked", "provider": "openai", "model": "gpt-4.1", "span_id": "m1", "ts": "2026-11-01T12:00:00Z"},
		{"event_id": "t1-call", "type": "ToolCalled", "tool": "search", "call_id": "c1", "span_id": "t1", "parent_span_id": "m1", "arguments": map[string]any{"q": "cost by agent"}, "ts": "2026-11-01T12:00:00.1Z"},
		{"event_id": "t1-ret", "type": "ToolReturned", "tool": "search", "call_id": "c1", "span_id": "t1", "parent_span_id": "m1", "duration_ms": 95.5, "status": "ok", "result": []any{"row1", "row2"}, "ts": "2026-11-01T12:00:00.2Z"},
		{"event_id": "m1-out", "type": "ModelCompleted", "provider": "openai", "model": "gpt-4.1", "span_id": "m1", "duration_ms": 812, "tokens_in": 1200, "tokens_out": 80, "cache_read_tokens": 1000, "finish_reason": "stop", "attributes": map[string]any{"temperature": 0.2, "stream": true, "region": "eu"}, "ts": "2026-11-01T12:00:01Z"},
		{"event_id": "cost-1", "type": "CostRecorded", "amount_usd": 0.0023, "currency": "USD", "model": "gpt-4.1", "ts": "2026-11-01T12:00:01Z"},
	}
	for _, ev := range single {
		args := map[string]any{"session_id": sessionID}
		for k, v := range ev {
			args[k] = v
		}
		var out struct {
			Accepted int `json:"accepted"`
		}
		Call(t, cs, "record_event", args, &out)
		if out.Accepted != 1 {
			t.Fatalf("record_event %v: %+v", ev["event_id"], out)
		}
		s.Sent = append(s.Sent, ev)
	}
	// A client retry of an event already stored is answered as success.
	var dup struct {
		Results []struct {
			Duplicate bool  `json:"duplicate"`
			Seq       int64 `json:"seq"`
		} `json:"results"`
	}
	Call(t, cs, "record_event", map[string]any{"session_id": sessionID, "event_id": "cost-1", "type": "CostRecorded", "amount_usd": 0.0023, "currency": "USD", "model": "gpt-4.1", "ts": "2026-11-01T12:00:01Z"}, &dup)
	if len(dup.Results) != 1 || !dup.Results[0].Duplicate || dup.Results[0].Seq != 6 {
		t.Fatalf("duplicate event_id: %+v", dup)
	}
	batch := []map[string]any{
		{"event_id": "t2-call", "type": "ToolCalled", "tool": "fetch", "call_id": "c2", "ts": "2026-11-01T12:00:02Z"},
		{"event_id": "t2-ret", "type": "ToolReturned", "tool": "fetch", "call_id": "c2", "duration_ms": 30000, "status": "error", "error": "timeout", "ts": "2026-11-01T12:00:32Z"},
	}
	var bout struct {
		Accepted int `json:"accepted"`
	}
	Call(t, cs, "record_event", map[string]any{"session_id": sessionID, "events": batch}, &bout)
	if bout.Accepted != 2 {
		t.Fatalf("batch: %+v", bout)
	}
	s.Sent = append(s.Sent, batch...)
	if msg := CallError(t, cs, "record_event", map[string]any{"session_id": sessionID, "type": "ModelCompleted", "provider": "openai", "model": "gpt-4.1"}); msg == "" {
		t.Fatal("invalid event: empty error")
	}
	var ended struct {
		Status     string `json:"status"`
		EventCount int64  `json:"event_count"`
		CostUSD    json.Number
	}
	Call(t, cs, "end_run", map[string]any{"session_id": sessionID, "status": "completed", "output": map[string]any{"answer": "ok"}}, &ended)
	if ended.Status != "completed" || ended.EventCount != int64(len(s.Sent)+2) {
		t.Fatalf("end_run: %+v", ended)
	}
	if msg := CallError(t, cs, "record_event", map[string]any{"session_id": sessionID, "type": "ModelInvoked", "provider": "p", "model": "m"}); msg == "" {
		t.Fatal("event after end_run: empty error")
	}
	return s
}

// Replay reads the whole session through replay_session, page by page.
func Replay(t testing.TB, cs *mcp.ClientSession, sessionID string, pageSize int) []map[string]any {
	t.Helper()
	var all []map[string]any
	cursor := ""
	for {
		var page struct {
			Events     []map[string]any `json:"events"`
			NextCursor string           `json:"next_cursor"`
		}
		args := map[string]any{"session_id": sessionID, "limit": pageSize}
		if cursor != "" {
			args["cursor"] = cursor
		}
		Call(t, cs, "replay_session", args, &page)
		all = append(all, page.Events...)
		if cursor = page.NextCursor; cursor == "" {
			return all
		}
	}
}

// CheckReplay compares a replay with what ExerciseSession sent, field by
// field, and checks the server's framing events and seq.
func CheckReplay(t testing.TB, s Session, replay []map[string]any) {
	t.Helper()
	if len(replay) != len(s.Sent)+2 {
		t.Fatalf("replayed %d events, want %d", len(replay), len(s.Sent)+2)
	}
	if replay[0]["type"] != "SessionStarted" || replay[len(replay)-1]["type"] != "SessionCompleted" {
		t.Errorf("framing events: first %v, last %v", replay[0]["type"], replay[len(replay)-1]["type"])
	}
	for i, ev := range replay {
		if seq := fmt.Sprint(ev["seq"]); seq != fmt.Sprint(i+1) {
			t.Errorf("event %d has seq %s", i, seq)
		}
		if ev["session_id"] != s.SessionID || ev["agent"] != "e2e-bot" {
			t.Errorf("event %d: session %v agent %v", i, ev["session_id"], ev["agent"])
		}
	}
	for i, sent := range s.Sent {
		got := replay[i+1]
		for k, v := range sent {
			want, _ := json.Marshal(v)
			have, _ := json.Marshal(got[k])
			if k == "ts" {
				ws, _ := v.(string)
				hs, _ := got[k].(string)
				wt, err1 := time.Parse(time.RFC3339Nano, ws)
				ht, err2 := time.Parse(time.RFC3339Nano, hs)
				if err1 != nil || err2 != nil || !wt.Equal(ht) {
					t.Errorf("event %v ts: sent %s, replayed %s", sent["event_id"], ws, hs)
				}
				continue
			}
			if string(want) != string(have) {
				t.Errorf("event %v field %s: sent %s, replayed %s", sent["event_id"], k, want, have)
			}
		}
	}
}
