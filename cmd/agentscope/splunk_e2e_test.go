package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
)

// TestSplunkEndToEnd records events through the HTTP API with a HEC
// configured and checks they reach HEC in HEC form with the indexed
// fields; that the health endpoint, run_spl's HTTP form, the insights and
// the spl and splunk commands tell the truth about it.
func TestSplunkEndToEnd(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			hec := hectest.New(hectest.Options{Token: "hec-token-1234"})
			defer hec.Close()
			env := append(st.env(t), "AGENTSCOPE_SPLUNK_HEC_URL="+hec.URL(), "AGENTSCOPE_SPLUNK_HEC_TOKEN=hec-token-1234", "AGENTSCOPE_SPLUNK_INDEX=agents")
			base, stop := serveInProcess(t, env)
			defer stop()

			if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"support-bot","session_id":"hec-1"}`, nil); code != 201 {
				t.Fatalf("start run: %d", code)
			}
			body := `[` +
				`{"event_id":"m1","session_id":"hec-1","type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":120,"tokens_in":10,"tokens_out":5},` +
				`{"event_id":"c1","session_id":"hec-1","type":"CostRecorded","amount_usd":0.25},` +
				`{"event_id":"t1","session_id":"hec-1","type":"ToolCalled","tool":"lookup","call_id":"x","arguments":{"q":"a \"quoted\" term"}}]`
			if code := api(t, "POST", base+"/api/v1/events", body, nil); code != 200 {
				t.Fatalf("record: %d", code)
			}
			if code := api(t, "POST", base+"/api/v1/runs/hec-1/end", `{"status":"completed"}`, nil); code != 200 {
				t.Fatalf("end run: %d", code)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// SessionStarted, 3 events, SessionCompleted; and, through the
			// same outbox, the audit log's entries of the starter agents.
			split := func() (events, audits []hectest.Event) {
				for _, e := range hec.Events() {
					if e.Sourcetype == agentscope.AuditSourcetype {
						audits = append(audits, e)
					} else {
						events = append(events, e)
					}
				}
				return events, audits
			}
			if err := hec.WaitFor(ctx, func(hectest.Stats) bool { evs, audits := split(); return len(evs) >= 5 && len(audits) >= 3 }); err != nil {
				t.Fatalf("HEC got %+v: %v", hec.Stats(), err)
			}
			events, audits := split()
			for _, e := range audits {
				var entry agentscope.AuditEntry
				if err := json.Unmarshal(e.Event, &entry); err != nil || e.Fields["org_id"] != "default" || e.Fields["action"] != "agent.created" ||
					entry.Action != agentscope.AuditAgentCreated || entry.Actor != "system" || e.Index != "agents" {
					t.Errorf("audit entry at HEC: %+v %s (%v)", e.Fields, e.Event, err)
				}
			}
			types := map[string]bool{}
			for _, e := range events {
				if e.Sourcetype != "agentscope:events" || e.Source != "agentscope" || e.Index != "agents" {
					t.Errorf("envelope %+v", e)
				}
				if e.Fields["org_id"] != "default" || e.Fields["session_id"] != "hec-1" || e.Fields["agent"] != "support-bot" {
					t.Errorf("indexed fields %v", e.Fields)
				}
				var ev map[string]any
				if err := json.Unmarshal(e.Event, &ev); err != nil || ev["type"] != e.Fields["type"] || ev["event_id"] == "" {
					t.Errorf("event %s (%v)", e.Event, err)
				}
				types[fmt.Sprint(ev["type"])] = true
			}
			if len(types) != 5 {
				t.Errorf("types at HEC: %v", types)
			}

			var h agentscope.SplunkHealth
			deadline := time.Now().Add(30 * time.Second)
			for {
				if code := api(t, "GET", base+"/api/v1/splunk/health", "", &h); code != 200 {
					t.Fatalf("health: %d", code)
				}
				if h.QueueDepth == 0 && h.Delivered >= 5 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond) // polling a remote state, not synchronising goroutines
			}
			if !h.Enabled || h.QueueDepth != 0 || h.Delivered < 5 || h.DeadLetters != 0 || h.LastSuccess == nil {
				t.Errorf("health %+v", h)
			}

			// Without Splunk search configured, run_spl answers locally.
			var a agentscope.SearchResult
			q := `{"query":"sourcetype=\"agentscope:events\" | stats sum(amount_usd) as cost by agent | sort -cost"}`
			if code := api(t, "POST", base+"/api/v1/spl", q, &a); code != 200 || a.Backend != "local" || len(a.Results) != 1 || fmt.Sprint(a.Results[0]["cost"]) != "0.25" {
				t.Fatalf("POST /api/v1/spl: %d %+v", code, a)
			}
			var e struct {
				Error struct{ Code, Message, Field string }
			}
			if code := api(t, "POST", base+"/api/v1/spl", `{"query":"type=X | stats count(","row_limit":1}`, &e); code != 400 || !strings.Contains(e.Error.Message, "position") || e.Error.Field != "query" {
				t.Errorf("bad query: %d %+v", code, e)
			}
			if code := api(t, "POST", base+"/api/v1/spl", `{"query":"x","backend":"splunk-rest"}`, &e); code != 400 || e.Error.Field != "backend" {
				t.Errorf("unconfigured backend: %d %+v", code, e)
			}
			if code := api(t, "POST", base+"/api/v1/spl", `{"query":"x","bogus":1}`, &e); code != 400 || !strings.Contains(e.Error.Message, "bogus") {
				t.Errorf("unknown field: %d %+v", code, e)
			}
			var ins service.InsightsOutput
			if code := api(t, "GET", base+"/api/v1/insights?name=cost_by_agent", "", &ins); code != 200 || len(ins.Insights) != 1 || len(ins.Insights[0].Answer.Results) != 1 {
				t.Errorf("insights: %d %+v", code, ins)
			}

			vars := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
			out := cli(t, vars, "spl", `sourcetype="agentscope:events" | stats sum(amount_usd) as cost by agent | sort -cost`)
			if !strings.Contains(out, "support-bot") || !strings.Contains(out, "0.25") || !strings.Contains(out, "1 rows") {
				t.Errorf("spl table:\n%s", out)
			}
			out = cli(t, vars, "spl", "session_id=hec-1 | table seq type", "--json")
			var ja agentscope.SearchResult
			if err := json.Unmarshal([]byte(out), &ja); err != nil || len(ja.Results) != 5 || strings.Join(ja.Fields, ",") != "seq,type" {
				t.Errorf("spl --json: %v\n%s", err, out)
			}
			out = cli(t, vars, "splunk", "status")
			for _, want := range []string{"forwarding:", "queue depth:", "0 events", "HEC health:", "healthy", "search backend:", "local"} {
				if !strings.Contains(out, want) {
					t.Errorf("splunk status lacks %q:\n%s", want, out)
				}
			}
			if out := cli(t, vars, "splunk", "deadletter", "list"); !strings.Contains(out, "0 dead letters") {
				t.Errorf("deadletter list:\n%s", out)
			}
		})
	}
}

// TestSplunkMCPSearchEndToEnd configures AGENTSCOPE_SPLUNK_MCP_COMMAND with
// a stdio server that speaks like the Splunk MCP Server app
// (splunk_run_query, rows in structuredContent.results): serve spawns it,
// finds its search tool, and run_spl's HTTP form answers from it, scoped
// to the caller's organisation; backend=local still answers locally.
func TestSplunkMCPSearchEndToEnd(t *testing.T) {
	dir := t.TempDir()
	server := filepath.Join(dir, "splunkmcptest")
	if out, err := exec.Command("go", "build", "-o", server, "../../investigator/internal/splunkmcptest").CombinedOutput(); err != nil {
		t.Fatalf("build the Splunk-like MCP server: %v\n%s", err, out)
	}
	data := t.TempDir()
	db := filepath.Join(data, "agentscope.db")
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + data, "AGENTSCOPE_SPLUNK_MCP_COMMAND=" + server + " -db " + db})
	defer stop()
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"bot","session_id":"m1"}`, nil); code != 201 {
		t.Fatalf("start: %d", code)
	}
	var a agentscope.SearchResult
	if code := api(t, "POST", base+"/api/v1/spl", `{"query":"session_id=m1 | stats count by agent"}`, &a); code != 200 || a.Backend != "splunk-mcp" || len(a.Results) != 1 || a.Results[0]["agent"] != "bot" {
		t.Fatalf("POST /api/v1/spl: %d %+v", code, a)
	}
	if code := api(t, "POST", base+"/api/v1/spl", `{"query":"session_id=m1 | stats count","backend":"local"}`, &a); code != 200 || a.Backend != "local" {
		t.Fatalf("backend=local: %d %+v", code, a)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if code := api(t, "POST", base+"/api/v1/spl", `{"query":"* | delete"}`, &e); code != 400 || !strings.Contains(e.Error.Message, "delete") {
		t.Fatalf("a write refused before Splunk: %d %+v", code, e)
	}
}
