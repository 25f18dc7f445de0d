package investigator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/investigator"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
)

// receiver is a webhook endpoint that verifies every delivery's signature.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []alerts.Payload
	bad    int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := alerts.Verify(rc.secret, r.Header.Get(alerts.HeaderTimestamp), body, r.Header.Get(alerts.HeaderSignature), time.Minute); err != nil {
			rc.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p alerts.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			rc.bad++
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.got = append(rc.got, p)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) kinds() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	m := map[string]int{}
	for _, p := range rc.got {
		m[p.Kind]++
	}
	return m
}

// TestAlertsFromLiveDetectionReportsAndBudgets: a rule over loop, risk and
// budget signals receives, signed, the loop found live while the session
// runs, the budget threshold crossed by its costs, and the risk of its
// investigation's report; each also recorded as an Alert event.
func TestAlertsFromLiveDetectionReportsAndBudgets(t *testing.T) {
	ib := newInvestigator(t, backends()[0], invConfig{evidence: viaAgentScope, live: true})
	rc := newReceiver(t)
	ctx := ib.Ctx()
	enabled := true
	rule, err := ib.alerts.CreateAlertRule(ctx, service.AlertRuleInput{Name: "ops", Enabled: &enabled, Kinds: []string{"loop", "risk", "budget"},
		MinSeverity: "medium", BudgetPercent: 50, URL: rc.srv.URL + "/hooks/secret-path", Format: "json"}.Rule())
	if err != nil {
		t.Fatal(err)
	}
	if rule.Secret == "" || strings.Contains(rule.URL, "secret-path") {
		t.Fatalf("created rule %+v", rule)
	}
	rc.mu.Lock()
	rc.secret = rule.Secret
	rc.mu.Unlock()
	if rs, _ := ib.alerts.ListAlertRules(ctx); len(rs) != 1 || rs[0].Secret != "" {
		t.Fatalf("listed rules %+v", rs)
	}
	// A running session loops: the live detector raises it before the end.
	if _, err := ib.Svc.StartRun(ctx, service.StartRunInput{Agent: "support-bot", SessionID: "live-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.Svc.SetBudget(ctx, agentscope.AgentCostBudget{Agent: "support-bot", Period: agentscope.PeriodDay, LimitUSD: usd("0.05")}); err != nil {
		t.Fatal(err)
	}
	var raws []json.RawMessage
	for i := 1; i <= 3; i++ {
		raws = append(raws, json.RawMessage(fmt.Sprintf(`{"event_id":"lc-%d","type":"ToolCalled","tool":"fetch","call_id":"c%d","arguments":{"url":"x"}}`, i, i)))
	}
	raws = append(raws, json.RawMessage(`{"event_id":"cost-a","type":"CostRecorded","amount_usd":0.03}`))
	for _, raw := range raws {
		if _, err := ib.Svc.Record(ctx, "live-1", []json.RawMessage{raw}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "the loop and budget alerts", func() bool {
		k := rc.kinds()
		return k["loop"] == 1 && k["budget"] == 1
	})
	run, _ := ib.Store.GetRun(t.Context(), org, "live-1")
	if run.Status != agentscope.StatusRunning {
		t.Fatalf("the alert came after the run: %s", run.Status)
	}
	alertsIn := func(sid string) []agentscope.Event { return find(ib.Events(t, sid), alerts.EventAlert) }
	if evs := alertsIn("live-1"); len(evs) != 2 || attr(evs[0], "rule_id") != rule.ID {
		t.Fatalf("Alert events %+v", evs)
	}
	for _, ev := range alertsIn("live-1") {
		b, _ := json.Marshal(ev)
		if strings.Contains(string(b), rule.Secret) || strings.Contains(string(b), "secret-path") {
			t.Fatalf("an Alert event holds the secret or the webhook path: %s", b)
		}
	}
	// More costs in the same period do not alert again.
	if _, err := ib.Svc.Record(ctx, "live-1", []json.RawMessage{json.RawMessage(`{"event_id":"cost-b","type":"CostRecorded","amount_usd":0.01}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.Svc.EndRun(ctx, service.EndRunInput{SessionID: "live-1", Status: "completed"}); err != nil {
		t.Fatal(err)
	}

	// The investigation's report raises its risk (and no second loop alert).
	ib.llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: `{"summary":"looped","risk_level":"high","findings":[{"title":"loop","severity":"high","evidence":["lc-1"],"explanation":"x"}],"recommendations":[]}`}
	})
	inv, rep := ib.investigate(t, "live-1")
	if inv.Status != agentscope.StatusCompleted {
		t.Fatalf("investigation %s: %s", inv.Status, inv.Error)
	}
	eventually(t, 30*time.Second, "the risk alert", func() bool { return rc.kinds()["risk"] == 1 })
	rc.mu.Lock()
	var risk alerts.Payload
	for _, p := range rc.got {
		if p.Kind == "risk" {
			risk = p
		}
	}
	bad := rc.bad
	rc.mu.Unlock()
	if risk.RiskLevel != "high" || risk.SessionID != "live-1" || bad != 0 {
		t.Fatalf("risk alert %+v (bad deliveries %d)", risk, bad)
	}
	if k := rc.kinds(); k["loop"] != 1 || k["budget"] != 1 {
		t.Fatalf("deliveries %v", k)
	}
	if rep.RiskLevel != agentscope.RiskHigh {
		t.Fatalf("report risk %s", rep.RiskLevel)
	}
}

// TestStallAlert: a running session that goes quiet past the stall gap
// raises a stall alert; one that ended does not.
func TestStallAlert(t *testing.T) {
	ib := newInvestigator(t, backends()[0], invConfig{evidence: viaAgentScope, live: true, opts: func(o *investigator.Options, w *investigator.WatchOptions) {
		o.Detect.StallGap = 200 * time.Millisecond
		w.IdleCheck = 20 * time.Millisecond
	}})
	rc := newReceiver(t)
	ctx := ib.Ctx()
	rule, err := ib.alerts.CreateAlertRule(ctx, service.AlertRuleInput{Name: "stalls", Kinds: []string{"stall"}, URL: rc.srv.URL}.Rule())
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = rule.Secret
	rc.mu.Unlock()
	for _, sid := range []string{"quiet", "ended"} {
		if _, err := ib.Svc.StartRun(ctx, service.StartRunInput{Agent: "support-bot", SessionID: sid}); err != nil {
			t.Fatal(err)
		}
		if _, err := ib.Svc.Record(ctx, sid, []json.RawMessage{json.RawMessage(`{"type":"ToolCalled","tool":"wait","call_id":"1"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// Ended behind the watcher's back, as through another process.
	if _, err := ib.Rec.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: "ended", Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the stall alert", func() bool { return rc.kinds()["stall"] >= 1 })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, p := range rc.got {
		if p.SessionID != "quiet" {
			t.Errorf("stall alert for %s", p.SessionID)
		}
	}
}
