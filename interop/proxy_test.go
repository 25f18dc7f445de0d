package interop

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestProxyEverything runs the official TypeScript SDK client as a host
// through `agentscope proxy` to the MCP reference server
// @modelcontextprotocol/server-everything (proxy/everything.mjs uses its
// whole surface), then reads the session AgentScope recorded in the
// proxy's data dir and compares every tool call with what the host sent
// and got.
func TestProxyEverything(t *testing.T) {
	node := requireNode(t)
	everything := filepath.Join("node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
	abs, err := filepath.Abs(everything)
	if err != nil {
		t.Fatal(err)
	}
	bin := binary(t)
	dir := t.TempDir()
	out := runNode(t, node, 120*time.Second, cleanEnv("INTEROP_BIN="+bin, "INTEROP_DATA_DIR="+dir, "EVERYTHING="+abs), filepath.Join("proxy", "everything.mjs"))
	_, line, ok := strings.Cut(out, "RESULT ")
	if !ok {
		t.Fatalf("the script printed no RESULT line:\n%s", out)
	}
	line, _, _ = strings.Cut(line, "\n")
	var res struct {
		Calls []struct {
			Tool      string          `json:"tool"`
			Arguments map[string]any  `json:"arguments"`
			Result    json.RawMessage `json:"result"`
			Error     string          `json:"error"`
			Task      bool            `json:"task"`
		} `json:"calls"`
		Seen map[string]int `json:"seen"`
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("RESULT: %v\n%s", err, line)
	}
	t.Logf("host saw %d tool calls; server requests and notifications: %v", len(res.Calls), res.Seen)

	// The proxy's session, as `agentscope export` reads it back.
	cmd := exec.Command(bin, "export")
	cmd.Env = cleanEnv("AGENTSCOPE_DATA_DIR="+dir, "HOME="+dir)
	exported, err := cmd.Output()
	if err != nil {
		t.Fatalf("agentscope export: %v", err)
	}
	var events []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(exported)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("export line %q: %v", l, err)
		}
		events = append(events, ev)
	}
	if len(events) < 2 || events[0]["type"] != "SessionStarted" || events[len(events)-1]["type"] != "SessionCompleted" {
		t.Fatalf("recorded session: %d events, first %v, last %v", len(events), events[0]["type"], events[len(events)-1]["type"])
	}
	if events[0]["agent"] != "everything-host" || events[len(events)-1]["status"] != "completed" {
		t.Errorf("session agent %v, end status %v", events[0]["agent"], events[len(events)-1]["status"])
	}
	var called, returned []map[string]any
	for _, ev := range events {
		switch ev["type"] {
		case "ToolCalled":
			called = append(called, ev)
		case "ToolReturned":
			returned = append(returned, ev)
		}
	}
	if len(called) != len(res.Calls) || len(returned) != len(res.Calls) {
		var rec, host []any
		for _, c := range called {
			rec = append(rec, c["tool"])
		}
		for _, c := range res.Calls {
			host = append(host, c.Tool)
		}
		t.Logf("recorded %v\nhost     %v", rec, host)
		t.Fatalf("recorded %d ToolCalled and %d ToolReturned, the host made %d calls", len(called), len(returned), len(res.Calls))
	}
	returnedBy := map[any]map[string]any{}
	for _, r := range returned {
		returnedBy[r["call_id"]] = r
	}
	for i, c := range res.Calls {
		ev := called[i]
		if ev["tool"] != c.Tool {
			t.Errorf("call %d: recorded tool %v, the host called %s", i, ev["tool"], c.Tool)
			continue
		}
		args, _ := ev["arguments"].(map[string]any)
		if len(c.Arguments) == 0 && args == nil {
			args = map[string]any{}
		}
		if !reflect.DeepEqual(args, c.Arguments) {
			t.Errorf("%s: recorded arguments %v, sent %v", c.Tool, ev["arguments"], c.Arguments)
		}
		ret := returnedBy[ev["call_id"]]
		if ret == nil {
			t.Errorf("%s: no ToolReturned for call_id %v", c.Tool, ev["call_id"])
			continue
		}
		if c.Task {
			// A task-augmented call answers tools/call with the task
			// (its outcome comes by tasks/result): that answer is what
			// is recorded.
			task, _ := ret["result"].(map[string]any)
			if ret["status"] != "ok" || task["task"] == nil {
				t.Errorf("%s (a task): recorded status %v, result %v", c.Tool, ret["status"], ret["result"])
			}
			continue
		}
		if c.Error != "" {
			if ret["status"] != "error" || ret["error"] == "" {
				t.Errorf("%s: the host got an error (%s), recorded status %v error %v", c.Tool, c.Error, ret["status"], ret["error"])
			}
			continue
		}
		var sent map[string]any
		if err := json.Unmarshal(c.Result, &sent); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ret["result"], sent) {
			t.Errorf("%s: recorded result %v\nthe host got %v", c.Tool, ret["result"], sent)
		}
		wantStatus := "ok"
		if sent["isError"] == true {
			wantStatus = "error"
		}
		if ret["status"] != wantStatus {
			t.Errorf("%s: recorded status %v, want %s", c.Tool, ret["status"], wantStatus)
		}
	}
}
