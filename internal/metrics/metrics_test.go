package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A nil Metrics counts nothing and never panics: every part may be built
// without one.
func TestNilMetricsCountsNothing(t *testing.T) {
	var m *Metrics
	m.Committed(time.Millisecond, 3, 2, 1)
	m.Rejected("invalid", 1)
	m.Ingested(1)
	m.HECRequest(200)
	m.HECDelivered(1)
	m.HECDeadLettered()
	m.RunQueued(time.Second)
	m.RunTakenOver()
	m.ModelCalled(ModelCall{Provider: "openai", Model: "gpt-4.1", OK: true})
	m.GatewayRequest("openai", "ok", time.Second)
	m.MCPTool("record_event").Done(false)
	m.Refusal("budget_hard_cap", "gateway_call")
	m.WebsocketOpened()()
}

func TestCountsAndBoundedReasons(t *testing.T) {
	m := New(Options{})
	m.Committed(time.Millisecond, 5, 3, 1)
	m.Rejected("plan_limit", 2)
	m.Rejected("something-new", 1) // not a known code: "other"
	m.HECRequest(0)
	m.HECRequest(503)
	m.Refusal("budget_hard_cap", "gateway_call")
	m.Refusal("plan_limit", "seat")
	m.Refusal("budget_hard_cap", "seat")        // not a pair of the set: nothing
	m.Refusal("made-up-reason", "gateway_call") // nor this
	calls := m.MCPTool("start_run")
	calls.Done(false)
	calls.Done(true)
	calls.Done(true)
	closed := m.WebsocketOpened()
	if got := testutil.ToFloat64(m.websocketClients); got != 1 {
		t.Errorf("websockets %v", got)
	}
	closed()
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{testutil.ToFloat64(m.eventsIngested), 3, "ingested"},
		{testutil.ToFloat64(m.eventsDuplicate), 1, "duplicates"},
		{testutil.ToFloat64(m.eventsRejected["plan_limit"]), 2, "plan_limit"},
		{testutil.ToFloat64(m.eventsRejected["other"]), 1, "other"},
		{testutil.ToFloat64(m.hecDeliveries.WithLabelValues("error")), 1, "HEC error"},
		{testutil.ToFloat64(m.hecDeliveries.WithLabelValues("503")), 1, "HEC 503"},
		{testutil.ToFloat64(m.mcpCalls.WithLabelValues("start_run", "ok")), 1, "start_run ok"},
		{testutil.ToFloat64(m.mcpCalls.WithLabelValues("start_run", "error")), 2, "start_run error"},
		{testutil.ToFloat64(m.websocketClients), 0, "websockets after close"},
		// Events refused past the plan are refusals too.
		{testutil.ToFloat64(m.refusals[[2]string{"plan_limit", "events"}]), 2, "plan-limit refusals of events"},
		{testutil.ToFloat64(m.refusals[[2]string{"plan_limit", "seat"}]), 1, "plan-limit refusals of seats"},
		{testutil.ToFloat64(m.refusals[[2]string{"budget_hard_cap", "gateway_call"}]), 1, "hard-cap refusals of gateway calls"},
		{float64(testutil.CollectAndCount(m.reg, "agentscope_refusals_total")), 8, "refusal series (every pair of the set, none other)"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
}

// The shared state is read at each scrape; a failed or slow read says so
// in agentscope_shared_state_up and leaves the state's gauges out rather
// than report stale numbers.
func TestSharedStateAtScrape(t *testing.T) {
	fail := false
	m := New(Options{StateTimeout: 50 * time.Millisecond, State: func(ctx context.Context) (SharedState, error) {
		if fail {
			<-ctx.Done()
			return SharedState{}, errors.New("database away")
		}
		return SharedState{OutboxDepth: 7, OutboxOldest: time.Now().Add(-time.Minute), DeadLetters: 2, Runs: map[string]int64{"queued": 3}}, nil
	}, LiveSubscribers: func() int { return 4 }})
	body := scrapeText(t, m)
	for _, want := range []string{"agentscope_shared_state_up 1", "agentscope_outbox_depth 7", "agentscope_dead_letters 2",
		`agentscope_runs{state="queued"} 3`, `agentscope_runs{state="running"} 0`, "agentscope_live_subscribers 4"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if !strings.Contains(body, "agentscope_outbox_oldest_age_seconds 6") { // about 60 s
		t.Errorf("oldest age not about a minute:\n%s", grep(body, "oldest"))
	}
	fail = true
	body = scrapeText(t, m)
	if !strings.Contains(body, "agentscope_shared_state_up 0\n") || strings.Contains(body, "agentscope_outbox_depth ") {
		t.Errorf("a failed read:\n%s", grep(body, "agentscope_"))
	}
}

func scrapeText(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func grep(body, s string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, s) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
