package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
)

// scrape reads url's metrics with Prometheus's own text parser; token, if
// set, is sent as the bearer credential.
func scrape(t *testing.T, url, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("GET %s: Content-Type %q, want Prometheus text", url, ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// sample is the value of the family's metric with exactly these labels
// (a counter's or gauge's value; a histogram's sample count), and whether
// there is one.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// sumWhere sums the family's values (a histogram's sample counts) over its
// metrics with label name = value (all of them when name is "").
func sumWhere(fams map[string]*dto.MetricFamily, family, name, value string) float64 {
	var sum float64
	for _, m := range fams[family].GetMetric() {
		match := name == ""
		for _, l := range m.GetLabel() {
			match = match || l.GetName() == name && l.GetValue() == value
		}
		if match {
			sum += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetricsEndToEnd boots serve with a HEC, a model provider and
// AGENTSCOPE_METRICS_ADDR, records events, makes MCP tool calls and a
// managed run, and checks every metric the issue names against what
// happened, read with Prometheus's parser: on the main listener to the
// instance token only, and without authentication on the metrics address.
func TestMetricsEndToEnd(t *testing.T) {
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "All quiet.", Usage: llmtest.Usage{PromptTokens: 1200, CachedTokens: 1000, CompletionTokens: 80}}
	})
	t.Setenv("AGENTSCOPE_LLM_BASE_URL", llm.URL)
	t.Setenv("AGENTSCOPE_LLM_API_KEY", "test-key")
	t.Setenv("AGENTSCOPE_LLM_MODEL", "gpt-4.1")
	const token, poison = "test-token-0123456789", "refuse-me-please"
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			hec := hectest.New(hectest.Options{Token: "hec-token-1234"})
			defer hec.Close()
			hec.Poison(poison)
			vars := varsOf(t, st)
			vars["AGENTSCOPE_SPLUNK_HEC_URL"], vars["AGENTSCOPE_SPLUNK_HEC_TOKEN"] = hec.URL(), "hec-token-1234"
			vars["AGENTSCOPE_METRICS_ADDR"] = "127.0.0.1:0"
			key := newKey(t, vars, "ingest,read,run,admin")
			metricsAddr := make(chan string, 1)
			base, stop := serveInProcessWith(t, envOf(vars), func(e *Env) { e.MetricsReady = func(a string) { metricsAddr <- a } })
			defer stop()
			open := "http://" + <-metricsAddr + "/metrics"

			// Who may read: the instance token; not an organisation's key,
			// not a stranger. The metrics address needs nothing.
			for _, c := range []struct {
				token string
				want  int
			}{{"", 401}, {"not-a-token-at-all-0123", 401}, {key, 403}} {
				if code, _, body := call(t, "GET", base+"/metrics", c.token, ""); code != c.want {
					t.Errorf("GET /metrics with %q: %d %s, want %d", c.token, code, body, c.want)
				}
			}

			// A self-reported session: its events, one refused as invalid,
			// one Splunk refuses (dead-lettered).
			if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"support-bot","session_id":"met-1"}`, nil); code != 201 {
				t.Fatalf("start run: %d", code)
			}
			body := `[{"event_id":"m1","session_id":"met-1","type":"ToolCalled","tool":"lookup","call_id":"a"},` +
				`{"event_id":"m2","session_id":"met-1","type":"ToolReturned","tool":"lookup","call_id":"a","duration_ms":5,"status":"ok","result":"` + poison + `"}]`
			if code := api(t, "POST", base+"/api/v1/events", body, nil); code != 200 {
				t.Fatalf("record: %d", code)
			}
			if code := api(t, "POST", base+"/api/v1/events", `[{"event_id":"m3","session_id":"met-1","type":"ToolCalled","call_id":"b"}]`, nil); code != 400 {
				t.Fatalf("record an event without its tool: %d, want 400", code)
			}
			// MCP: one call that answers, one that fails.
			cs := httpSession(t, base, token)
			defer cs.Close()
			if _, err := callTool(cs, "replay_session", map[string]any{"session_id": "met-1"}); err != nil {
				t.Fatalf("replay_session: %v", err)
			}
			if _, err := callTool(cs, "replay_session", map[string]any{"session_id": "no-such-session"}); err == nil {
				t.Fatal("replay_session of a missing session answered")
			}
			if _, err := callTool(cs, "replay_session", map[string]any{"sessionid": "met-1"}); err == nil { // refused by its input schema
				t.Fatal("replay_session without a session_id answered")
			}
			for i := range 2 { // the second on record_event's fast path, if the session takes it
				ev := map[string]any{"session_id": "met-1", "type": "ToolCalled", "tool": "lookup", "call_id": fmt.Sprint("mcp-", i)}
				if _, err := callTool(cs, "record_event", ev); err != nil {
					t.Fatalf("record_event: %v", err)
				}
			}
			if code := api(t, "POST", base+"/api/v1/runs/met-1/end", `{"status":"completed"}`, nil); code != 200 {
				t.Fatalf("end run: %d", code)
			}
			// A model call through the LLM gateway (to the same provider).
			gwBody := `{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}`
			if code, _, answer := call(t, "POST", base+"/v1/chat/completions", token, gwBody); code != 200 {
				t.Fatalf("gateway call: %d %s", code, answer)
			}
			// A managed run, executed by serve's workers with the model.
			if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"research","session_id":"met-run","input":"hi"}`, nil); code != 201 {
				t.Fatalf("queue run: %d", code)
			}
			waitFor(t, "the managed run to finish", func() bool {
				var run agentscope.Run
				return api(t, "GET", base+"/api/v1/runs/met-run", "", &run) == 200 && run.Status.Terminal()
			})
			// research has spent: a hard cap it has reached refuses its
			// next run and its calls through the gateway.
			if code := api(t, "PUT", base+"/api/v1/budgets", `{"agent":"research","period":"day","limit_usd":0.000001,"hard_cap":true}`, nil); code != 200 {
				t.Fatalf("set research's budget: %d", code)
			}
			if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"research","session_id":"met-refused","input":"hi"}`, nil); code != 403 {
				t.Fatalf("queue a run past research's hard cap: %d, want 403", code)
			}
			capped, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(gwBody))
			capped.Header.Set("Authorization", "Bearer "+token)
			capped.Header.Set("X-AgentScope-Agent", "research")
			if resp, err := http.DefaultClient.Do(capped); err != nil {
				t.Fatal(err)
			} else if resp.Body.Close(); resp.StatusCode != 429 {
				t.Fatalf("gateway call past research's hard cap: %d, want 429", resp.StatusCode)
			}
			// A live websocket, open while scraping.
			ws := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/sessions/met-1/live"
			conn, _, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + token}})
			if err != nil {
				t.Fatalf("live websocket: %v", err)
			}
			defer conn.Close()
			if _, _, err := conn.ReadMessage(); err != nil { // subscribed: the backlog arrives
				t.Fatalf("live websocket: %v", err)
			}

			// Forwarding settles: everything at HEC or in dead letters, and
			// counted (the counter moves just after the outbox row goes);
			// the gateway's records, committed in the background, are in.
			var (
				fams   map[string]*dto.MetricFamily
				stored int64
			)
			storedEvents := func() int64 {
				var runs struct {
					Runs []agentscope.Run `json:"runs"`
				}
				if code := api(t, "GET", base+"/api/v1/runs?limit=200", "", &runs); code != 200 {
					t.Fatalf("list runs: %d", code)
				}
				var n int64
				for _, r := range runs.Runs {
					n += r.EventCount
				}
				return n
			}
			waitFor(t, "forwarding and recording to settle", func() bool {
				stored = storedEvents()
				fams = scrape(t, base+"/metrics", token)
				depth, ok := sample(fams, "agentscope_outbox_depth")
				delivered, _ := sample(fams, "agentscope_hec_events_delivered_total")
				ingested, _ := sample(fams, "agentscope_events_ingested_total")
				return ok && depth == 0 && delivered == float64(len(hec.Events())) && ingested == float64(stored)
			})
			value := func(name string, labels ...string) float64 {
				t.Helper()
				v, ok := sample(fams, name, labels...)
				if !ok {
					t.Errorf("%s%v is not exposed", name, labels)
				}
				return v
			}

			if got := value("agentscope_events_ingested_total"); got != float64(stored) || stored == 0 {
				t.Errorf("events ingested %v, the store holds %d", got, stored)
			}
			if got := value("agentscope_events_rejected_total", "reason", "invalid"); got != 1 {
				t.Errorf("events rejected as invalid: %v, want 1", got)
			}
			// The gateway's first append to its new session answers
			// not_found and starts the session: no refusal.
			if got := value("agentscope_events_rejected_total", "reason", "not_found"); got != 0 {
				t.Errorf("events rejected as not_found: %v, want 0", got)
			}
			if got := value("agentscope_commit_duration_seconds"); got < 1 {
				t.Errorf("commits observed: %v", got)
			}
			if got := value("agentscope_commit_events"); got != value("agentscope_commit_duration_seconds") {
				t.Errorf("group commit sizes observed %v, commits %v", got, value("agentscope_commit_duration_seconds"))
			}
			if got := value("agentscope_outbox_oldest_age_seconds"); got != 0 {
				t.Errorf("outbox oldest age %v with an empty outbox", got)
			}
			if got := value("agentscope_dead_letters"); got != 1 {
				t.Errorf("dead letters %v, want 1", got)
			}
			if got := value("agentscope_hec_dead_letters_total"); got != 1 {
				t.Errorf("dead-lettered by this process %v, want 1", got)
			}
			if got, want := value("agentscope_hec_events_delivered_total"), float64(len(hec.Events())); got != want {
				t.Errorf("HEC events delivered %v, HEC indexed %v", got, want)
			}
			if got := value("agentscope_hec_deliveries_total", "status", "200"); got < 1 {
				t.Errorf("HEC deliveries answered 200: %v", got)
			}
			if got := value("agentscope_hec_deliveries_total", "status", "400"); got < 1 {
				t.Errorf("HEC deliveries answered 400 (the poisoned event): %v", got)
			}
			// The session the gateway call began runs until it goes idle;
			// met-1 and met-run completed; the refused run never existed.
			for state, want := range map[string]float64{"queued": 0, "running": 1, "completed": 2, "failed": 0, "cancelled": 0} {
				if got := value("agentscope_runs", "state", state); got != want {
					t.Errorf("runs %s: %v, want %v", state, got, want)
				}
			}
			if got := value("agentscope_run_queue_latency_seconds"); got != 1 {
				t.Errorf("run queue latencies observed: %v, want 1", got)
			}
			// The managed run's call and the gateway's (its upstream, named
			// by its host, is "other" too).
			const calls = 2
			if got := value("agentscope_model_calls_total", "provider", "other", "model", "gpt-4.1", "outcome", "ok"); got != calls {
				t.Errorf("model calls: %v, want %v (the managed run's and the gateway's)", got, calls)
			}
			for kind, per := range map[string]float64{"input": 1200, "output": 80, "cache_read": 1000} {
				if got := value("agentscope_model_tokens_total", "provider", "other", "model", "gpt-4.1", "kind", kind); got != per*calls {
					t.Errorf("%s tokens %v, want %v", kind, got, per*calls)
				}
			}
			// gpt-4.1 at $2/M input, $0.50/M cached input, $8/M output.
			if got, want := value("agentscope_model_cost_usd_total", "provider", "other", "model", "gpt-4.1"), calls*(200*2+1000*0.5+80*8)/1e6; math.Abs(got-want) > 1e-12 {
				t.Errorf("model cost %v, want %v", got, want)
			}
			for _, c := range []struct {
				reason, what string
				want         float64
			}{{"budget_hard_cap", "run_start", 1}, {"budget_hard_cap", "gateway_call", 1}, {"budget_hard_cap", "model_call", 0}, {"plan_limit", "events", 0}, {"plan_limit", "seat", 0}} {
				if got := value("agentscope_refusals_total", "reason", c.reason, "what", c.what); got != c.want {
					t.Errorf("refusals %s of %s: %v, want %v", c.reason, c.what, got, c.want)
				}
			}
			if got := value("agentscope_model_call_duration_seconds", "provider", "other", "model", "gpt-4.1"); got != calls {
				t.Errorf("model latencies observed %v, calls %v", got, calls)
			}
			if got := value("agentscope_mcp_calls_total", "tool", "replay_session", "outcome", "ok"); got != 1 {
				t.Errorf("replay_session ok: %v, want 1", got)
			}
			if got := value("agentscope_mcp_calls_total", "tool", "replay_session", "outcome", "error"); got != 2 {
				t.Errorf("replay_session error: %v, want 2", got)
			}
			if got := value("agentscope_mcp_calls_total", "tool", "record_event", "outcome", "ok"); got != 2 {
				t.Errorf("record_event ok: %v, want 2", got)
			}
			if got := sumWhere(fams, "agentscope_gateway_requests_total", "outcome", "ok"); got != 1 {
				t.Errorf("gateway requests ok: %v, want 1", got)
			}
			if got := sumWhere(fams, "agentscope_gateway_request_duration_seconds", "", ""); got != 1 {
				t.Errorf("gateway latencies observed: %v, want 1", got)
			}
			if got := value("agentscope_live_subscribers"); got < 1 {
				t.Errorf("live subscribers %v with a websocket open", got)
			}
			if got := value("agentscope_websocket_subscribers"); got != 1 {
				t.Errorf("websocket subscribers %v, want 1", got)
			}
			if got := value("agentscope_shared_state_up"); got != 1 {
				t.Errorf("shared state up %v", got)
			}
			// No label names an organisation, a session or what was recorded.
			for name, f := range fams {
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						if v := l.GetValue(); slices.Contains([]string{"default", "met-1", "met-run", "support-bot", "research", "lookup", poison}, v) {
							t.Errorf("%s has label %s=%q", name, l.GetName(), v)
						}
					}
				}
			}

			checkDashboard(t, fams)

			// The metrics address serves the same metrics to anyone.
			open2 := scrape(t, open, "")
			if _, ok := sample(open2, "agentscope_events_ingested_total"); !ok {
				t.Errorf("the metrics address lacks agentscope_events_ingested_total")
			}
		})
	}
}

// waitFor polls cond until it holds, failing after 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// checkDashboard holds deploy/grafana/agentscope.json to what serve
// exposes: every metric its queries use is in the scrape fams of a real
// serve (a histogram's _bucket, _sum and _count by its name), and every
// metric the issue names has a panel.
func checkDashboard(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "agentscope.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Type, Title string
			Targets     []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil || dash.UID == "" {
		t.Fatalf("the dashboard is not Grafana JSON with a uid: %v", err)
	}
	exposed := func(name string) bool {
		if fams[name] != nil {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if f := fams[strings.TrimSuffix(name, suffix)]; strings.HasSuffix(name, suffix) && f != nil && f.GetType() == dto.MetricType_HISTOGRAM {
				return true
			}
		}
		return false
	}
	metricName := regexp.MustCompile(`\bagentscope_[a-z0-9_]+`)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			for _, name := range metricName.FindAllString(target.Expr, -1) {
				used[name] = true
				if !exposed(name) {
					t.Errorf("dashboard panel %q queries %s, which serve does not expose", p.Title, name)
				}
			}
		}
	}
	for _, name := range []string{"agentscope_events_ingested_total", "agentscope_events_rejected_total", "agentscope_commit_duration_seconds_bucket",
		"agentscope_commit_events_bucket", "agentscope_outbox_depth", "agentscope_outbox_oldest_age_seconds", "agentscope_hec_deliveries_total",
		"agentscope_dead_letters", "agentscope_runs", "agentscope_run_queue_latency_seconds_bucket", "agentscope_model_tokens_total",
		"agentscope_model_cost_usd_total", "agentscope_model_call_duration_seconds_bucket", "agentscope_mcp_calls_total",
		"agentscope_gateway_requests_total", "agentscope_live_subscribers", "agentscope_websocket_subscribers", "agentscope_refusals_total"} {
		if !used[name] {
			t.Errorf("the dashboard has no panel on %s", name)
		}
	}
}

// TestWorkerServesMetrics: a worker has no HTTP listener of its own; with
// AGENTSCOPE_METRICS_ADDR it serves /metrics there, without
// authentication, shared state included.
func TestWorkerServesMetrics(t *testing.T) {
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir(), "AGENTSCOPE_METRICS_ADDR": "127.0.0.1:0"}
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	e := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return vars[k] }, MetricsReady: func(a string) { addr <- a }}
	go func() { done <- e.Run(ctx, []string{"worker"}) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("worker exited %d", code)
		}
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a + "/metrics"
	case code := <-done:
		done <- code // for the deferred wait
		t.Fatalf("worker exited %d before serving metrics", code)
	}
	fams := scrape(t, url, "")
	for _, name := range []string{"agentscope_runs", "agentscope_outbox_depth", "agentscope_shared_state_up", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("the worker's metrics lack %s", name)
		}
	}
}
