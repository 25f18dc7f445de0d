package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/billing"
)

// TestPlanLimitAlertEndToEnd: serve with a plans file runs the plan-limit
// job (AGENTSCOPE_PLAN_ALERT_INTERVAL) on its River workers: an
// organisation with a plan_limit rule that records 4 of its 5 events a
// month gets one signed webhook saying it has used 80 %, and the alert is
// in its billing session, replayable over the API, without counting
// against the limit it reports.
func TestPlanLimitAlertEndToEnd(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			got := make(chan string, 10)
			var secret string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if err := alerts.Verify(secret, r.Header.Get(alerts.HeaderTimestamp), body, r.Header.Get(alerts.HeaderSignature), time.Minute); err != nil {
					got <- "forged: " + err.Error()
				} else {
					got <- string(body)
				}
			}))
			defer srv.Close()
			vars := varsOf(t, st)
			vars["AGENTSCOPE_PLANS_FILE"] = billingPlansFile(t) // tiny: 5 events a month
			vars["AGENTSCOPE_PLAN_ALERT_INTERVAL"] = "1s"
			vars["AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE"] = "true" // the receiver is on this machine
			const token = "test-token-0123456789"
			base, stop := serveInProcess(t, envOf(vars))
			defer stop()
			code, _, body := call(t, "POST", base+"/api/v1/alerts/rules", token, fmt.Sprintf(`{"name":"quota","kinds":["plan_limit"],"url":%q}`, srv.URL+"/hook"))
			var rule struct{ Secret string }
			if err := json.Unmarshal([]byte(body), &rule); err != nil || code != http.StatusCreated || rule.Secret == "" {
				t.Fatalf("create rule: %d %s", code, body)
			}
			secret = rule.Secret
			if code, _, body := call(t, "POST", base+"/api/v1/runs", token, `{"agent":"bot","session_id":"p1"}`); code != http.StatusCreated {
				t.Fatalf("start: %d %s", code, body)
			}
			if code, _, body := call(t, "POST", base+"/api/v1/events", token, `[{"session_id":"p1","type":"ToolCalled","tool":"t","call_id":"c1"},{"session_id":"p1","type":"ToolCalled","tool":"t","call_id":"c2"},{"session_id":"p1","type":"ToolCalled","tool":"t","call_id":"c3"}]`); code != http.StatusOK {
				t.Fatalf("events: %d %s", code, body)
			}
			var delivered string
			select {
			case delivered = <-got:
			case <-time.After(60 * time.Second): // a guard against a hang, not a wait
				t.Fatal("no plan-limit alert within 60 s")
			}
			period := billing.Period(time.Now())
			var p alerts.Payload
			if err := json.Unmarshal([]byte(delivered), &p); err != nil || p.Kind != "plan_limit" || p.Severity != "medium" ||
				p.Title != "Organisation default has used 80% of its plan's events_per_month (4 of 5) in "+period || p.PlanLimit == nil || p.PlanLimit.Threshold != 80 {
				t.Fatalf("delivery %s", delivered)
			}
			code, _, body = call(t, "GET", base+"/api/v1/sessions/"+alerts.PlanLimitSessionID(period)+"/events", token, "")
			if code != http.StatusOK || strings.Count(body, `"type":"Alert"`) != 1 || !strings.Contains(body, "has used 80%") {
				t.Errorf("billing session: %d %s", code, body)
			}
			code, _, body = call(t, "GET", base+"/api/v1/billing/usage", token, "")
			if code != http.StatusOK || !strings.Contains(body, `"name":"events_per_month","used":4,`) {
				t.Errorf("usage after the alert: %d %s; want the 4 events recorded alone", code, body)
			}
		})
	}
}
