package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver/mcptest"
	"github.com/agentscope/agentscope/runtime/llmtest"
)

// TestInvestigateEndToEnd records a session in which an agent looped and
// switched providers through the HTTP API, investigates it through the
// API with serve spawning its own `agentscope mcp` as the evidence
// server, and checks the report; then investigates again from the CLI
// without a model key: it fails closed and still shows the detectors'
// findings.
func TestInvestigateEndToEnd(t *testing.T) {
	bin := binary(t)
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(func(r llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: `{"summary":"lookup_order looped","risk_level":"high","findings":[` +
			`{"title":"Loop","severity":"high","evidence":["c-1","c-2","c-3"],"explanation":"same call three times"},` +
			`{"title":"Invented","severity":"critical","evidence":["nope"],"explanation":"x"}],"recommendations":["cap retries"]}`,
			Usage: llmtest.Usage{PromptTokens: 100, CompletionTokens: 20}}
	})
	t.Setenv("AGENTSCOPE_LLM_BASE_URL", llm.URL)
	t.Setenv("AGENTSCOPE_LLM_API_KEY", "test-key")
	t.Setenv("AGENTSCOPE_LLM_MODEL", "gpt-4.1")
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			env := append(st.env(t), "AGENTSCOPE_SELF_EXECUTABLE="+bin)
			base, stopServe := serveInProcess(t, env)
			var once sync.Once
			stop := func() { once.Do(stopServe) }
			defer stop()
			if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"support-bot","session_id":"loopy"}`, nil); code != 201 {
				t.Fatalf("start: %d", code)
			}
			body := `[{"event_id":"m-1","session_id":"loopy","type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":100,"tokens_in":1,"tokens_out":1},` +
				`{"event_id":"c-1","session_id":"loopy","type":"ToolCalled","tool":"lookup_order","call_id":"1","arguments":{"id":42}},` +
				`{"event_id":"c-2","session_id":"loopy","type":"ToolCalled","tool":"lookup_order","call_id":"2","arguments":{"id":42}},` +
				`{"event_id":"c-3","session_id":"loopy","type":"ToolCalled","tool":"lookup_order","call_id":"3","arguments":{"id":42}},` +
				`{"event_id":"m-2","session_id":"loopy","type":"ModelCompleted","provider":"anthropic","model":"claude-sonnet-4","duration_ms":100,"tokens_in":1,"tokens_out":1}]`
			if code := api(t, "POST", base+"/api/v1/events", body, nil); code != 200 {
				t.Fatalf("record: %d", code)
			}
			if code := api(t, "POST", base+"/api/v1/runs/loopy/end", `{"status":"failed","error":"gave up"}`, nil); code != 200 {
				t.Fatalf("end: %d", code)
			}
			var queued struct {
				SessionID string `json:"session_id"`
				Status    string `json:"status"`
			}
			if code := api(t, "POST", base+"/api/v1/sessions/loopy/investigate", "", &queued); code != 202 || queued.Status != "queued" {
				t.Fatalf("investigate: %d %+v", code, queued)
			}
			var run agentscope.Run
			deadline := time.Now().Add(60 * time.Second)
			for !run.Status.Terminal() {
				if time.Now().After(deadline) {
					t.Fatalf("investigation still %s", run.Status)
				}
				time.Sleep(20 * time.Millisecond) // polling another process's progress
				api(t, "GET", base+"/api/v1/runs/"+queued.SessionID, "", &run)
			}
			var rep agentscope.Report
			if code := api(t, "GET", base+"/api/v1/reports/loopy", "", &rep); code != 200 {
				t.Fatalf("report: %d", code)
			}
			if run.Status != agentscope.StatusCompleted || rep.Status != agentscope.ReportCompleted || rep.EvidenceBackend != "agentscope-mcp" ||
				len(rep.Findings) != 1 || rep.UngroundedDropped != 1 || rep.RiskLevel != agentscope.RiskHigh {
				t.Fatalf("run %s (%s), report %+v", run.Status, run.Error, rep)
			}
			ks := map[string]bool{}
			for _, f := range rep.DetectorFindings {
				ks[f.Kind] = true
			}
			if !ks["loop"] || !ks["provider_switch"] {
				t.Fatalf("detector findings %+v", rep.DetectorFindings)
			}
			var list struct{ Reports []agentscope.Report }
			if code := api(t, "GET", base+"/api/v1/reports?risk_level=high", "", &list); code != 200 || len(list.Reports) != 1 {
				t.Errorf("reports list: %d %d", code, len(list.Reports))
			}
			var e struct{ Error struct{ Field string } }
			if code := api(t, "GET", base+"/api/v1/reports?risk_level=severe", "", &e); code != 400 || e.Error.Field != "risk_level" {
				t.Errorf("bad risk level: %d %+v", code, e)
			}
			if code := api(t, "POST", base+"/api/v1/sessions/nope/investigate", "", nil); code != 404 {
				t.Errorf("investigate unknown session: %d", code)
			}
			var findings struct{ Findings []agentscope.DetectorFinding }
			if code := api(t, "GET", base+"/api/v1/sessions/loopy/findings", "", &findings); code != 200 || len(findings.Findings) != len(rep.DetectorFindings) {
				t.Errorf("findings: %d %d", code, len(findings.Findings))
			}

			// From the CLI without a model key, with serve (and its workers)
			// stopped: fails closed, detectors shown.
			stop()
			vars := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
			t.Setenv("AGENTSCOPE_LLM_API_KEY", "")
			t.Setenv("OPENAI_API_KEY", "")
			var out, errOut strings.Builder
			e2 := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string { return vars[k] }}
			code := e2.Run(context.Background(), []string{"investigate", "--wait", "loopy"})
			if code != 1 || !strings.Contains(out.String(), "Deterministic detector findings") || !strings.Contains(out.String(), "loop") ||
				!strings.Contains(errOut.String(), "no API key") {
				t.Fatalf("investigate --wait without a key: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
			}
			t.Setenv("AGENTSCOPE_LLM_API_KEY", "test-key")
			lst := cli(t, vars, "reports", "list")
			if strings.Count(lst, "loopy") != 2 {
				t.Errorf("reports list:\n%s", lst)
			}
			var shown agentscope.Report
			if err := json.Unmarshal([]byte(cli(t, vars, "reports", "show", "--json", queued.SessionID)), &shown); err != nil || shown.SessionID != queued.SessionID {
				t.Errorf("reports show: %v %+v", err, shown)
			}
		})
	}
}

// TestInvestigateOverStdio is the Claude Desktop path: the only AgentScope
// is the stdio server the client spawned. A session recorded through it is
// investigated through it: its in-process worker runs the investigator,
// which spawns a second `agentscope mcp` for the evidence.
func TestInvestigateOverStdio(t *testing.T) {
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(func(r llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: `{"summary":"looped","risk_level":"medium","findings":[{"title":"Loop","severity":"high","evidence":["s-2","s-3"],"explanation":"same call"}],"recommendations":[]}`}
	})
	env := []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir(), "AGENTSCOPE_LLM_BASE_URL=" + llm.URL, "AGENTSCOPE_LLM_API_KEY=test-key", "AGENTSCOPE_LLM_MODEL=gpt-4.1"}
	cs := stdioSession(t, env)
	defer cs.Close()
	var started struct {
		SessionID string `json:"session_id"`
	}
	mcptest.Call(t, cs, "start_run", map[string]any{"agent": "desk-bot", "session_id": "desk-1"}, &started)
	var events []map[string]any
	for i := 1; i <= 3; i++ {
		events = append(events, map[string]any{"event_id": fmt.Sprintf("s-%d", i), "session_id": "desk-1", "type": "ToolCalled", "tool": "grep", "call_id": fmt.Sprint(i), "arguments": map[string]any{"q": "x"}})
	}
	mcptest.Call(t, cs, "record_event", map[string]any{"events": events}, nil)
	mcptest.Call(t, cs, "end_run", map[string]any{"session_id": "desk-1", "status": "completed"}, nil)
	var queued struct {
		SessionID string `json:"session_id"`
		Status    string `json:"status"`
	}
	mcptest.Call(t, cs, "investigate", map[string]any{"session_id": "desk-1"}, &queued)
	if queued.Status != "queued" {
		t.Fatalf("investigate: %+v", queued)
	}
	deadline := time.Now().Add(60 * time.Second)
	var rep agentscope.Report
	for {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_report", Arguments: map[string]any{"session_id": queued.SessionID}})
		if err != nil {
			t.Fatal(err)
		}
		if !res.IsError {
			b, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report: %s", mcptest.Text(res))
		}
		time.Sleep(50 * time.Millisecond) // polling another process
	}
	if rep.Status != agentscope.ReportCompleted || rep.EvidenceBackend != "agentscope-mcp" || len(rep.Findings) != 1 || rep.RiskLevel != agentscope.RiskHigh {
		t.Fatalf("report %+v", rep)
	}
	res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "agentscope://reports/desk-1"})
	if err != nil || len(res.Contents) != 1 || !strings.Contains(res.Contents[0].Text, queued.SessionID) {
		t.Fatalf("report resource: %v %+v", err, res)
	}

	// With wait_seconds the call returns the report, and a client that asks
	// for progress hears the investigation move on.
	var mu sync.Mutex
	var progress []string
	finished := make(chan struct{})
	var finishOnce sync.Once
	waiting := stdioSessionWith(t, env, &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
		mu.Lock()
		progress = append(progress, r.Params.Message)
		mu.Unlock()
		if r.Params.Message == "investigate finished" {
			finishOnce.Do(func() { close(finished) })
		}
	}})
	defer waiting.Close()
	params := &mcp.CallToolParams{Name: "investigate", Arguments: map[string]any{"session_id": "desk-1", "wait_seconds": 60}}
	params.SetProgressToken("inv-1")
	wres, err := waiting.CallTool(context.Background(), params)
	if err != nil || wres.IsError {
		t.Fatalf("investigate with wait: %v %s", err, mcptest.Text(wres))
	}
	var waited struct {
		Status string             `json:"status"`
		Report *agentscope.Report `json:"report"`
	}
	b, _ := json.Marshal(wres.StructuredContent)
	if err := json.Unmarshal(b, &waited); err != nil || waited.Status != "completed" || waited.Report == nil || waited.Report.RiskLevel != agentscope.RiskHigh {
		t.Fatalf("investigate with wait: %s (%v)", b, err)
	}
	// The server sends the last progress before the result, but go-sdk's
	// client hands notifications to the handler on goroutines of their
	// own, so the result can be seen first.
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	if len(progress) < 2 || progress[0] != "investigate started" || progress[len(progress)-1] != "investigate finished" {
		t.Errorf("progress %q", progress)
	}
	if bad := mcptest.CallError(t, waiting, "investigate", map[string]any{"session_id": "desk-1", "wait_seconds": 601}); !strings.Contains(bad, "wait_seconds") {
		t.Errorf("wait_seconds 601: %q", bad)
	}
}
