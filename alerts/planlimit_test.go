package alerts_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/internal/netguard"
)

// usageOf is a billing usage of org-a in 2026-12 with one limit.
func usageOf(name, used string, limit *string) agentscope.BillingUsage {
	l := agentscope.LimitUsage{Name: name, Used: json.Number(used)}
	if limit != nil {
		n := json.Number(*limit)
		l.Limit = &n
		u, _ := json.Number(used).Float64()
		m, _ := n.Float64()
		p := u / m * 100
		l.Percent = &p
	}
	return agentscope.BillingUsage{Enabled: true, OrgID: "org-a", Plan: "free", PlanName: "Free", Period: "2026-12",
		PeriodEnd: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Limits: []agentscope.LimitUsage{l}}
}

func ptr(s string) *string { return &s }

// TestPlanLimitSignals: 80 % of a limit signals once (medium), 100 %
// twice (80 % medium and 100 % high), each keyed by limit, period and
// threshold; below 80 %, unlimited, unused and billing off signal nothing.
func TestPlanLimitSignals(t *testing.T) {
	for _, c := range []struct {
		name string
		u    agentscope.BillingUsage
		want []string // "threshold severity" of each signal
	}{
		{"79%", usageOf("events_per_month", "79999", ptr("100000")), nil},
		{"80% exactly", usageOf("events_per_month", "80", ptr("100")), []string{"80 medium"}},
		{"82%", usageOf("events_per_month", "82000", ptr("100000")), []string{"80 medium"}},
		{"99.999%", usageOf("events_per_month", "99999", ptr("100000")), []string{"80 medium"}},
		{"100%", usageOf("seats", "3", ptr("3")), []string{"80 medium", "100 high"}},
		{"past 100%", usageOf("events_per_month", "104000", ptr("100000")), []string{"80 medium", "100 high"}},
		{"dollars at 80%", usageOf("managed_run_usd_per_month", "4", ptr("5")), []string{"80 medium"}},
		{"dollars below", usageOf("managed_run_usd_per_month", "3.999999999", ptr("5")), nil},
		{"unlimited", usageOf("api_keys", "1000", nil), nil},
		{"a zero limit unused", usageOf("api_keys", "0", ptr("0")), nil},
		{"billing off", agentscope.BillingUsage{OrgID: "org-a"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			sigs := alerts.PlanLimitSignals("Acme", c.u)
			var got []string
			keys := map[string]bool{}
			for _, s := range sigs {
				if s.Kind != agentscope.AlertKindPlanLimit || s.OrgID != "org-a" || s.SessionID != "billing-2026-12" || s.PlanLimit == nil || s.Agent != "" {
					t.Errorf("signal %+v", s)
					continue
				}
				got = append(got, strings.Join([]string{jsonInt(s.PlanLimit.Threshold), string(s.Severity)}, " "))
				if !strings.Contains(s.Key, "2026-12") || !strings.Contains(s.Key, s.PlanLimit.Name) || keys[s.Key] {
					t.Errorf("key %q: want one per limit, period and threshold", s.Key)
				}
				keys[s.Key] = true
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("signals %v, want %v", got, c.want)
			}
		})
	}
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestPlanLimitWording: the title reads as a sentence a person acts on,
// with the amounts grouped, the percentage rounded down and dollars
// marked; the organisation's id stands in for a missing name.
func TestPlanLimitWording(t *testing.T) {
	sigs := alerts.PlanLimitSignals("Acme", usageOf("events_per_month", "82000", ptr("100000")))
	if len(sigs) != 1 {
		t.Fatalf("%d signals", len(sigs))
	}
	if want := "Organisation Acme has used 82% of its plan's events_per_month (82,000 of 100,000) in 2026-12"; sigs[0].Title != want {
		t.Errorf("title %q\n want %q", sigs[0].Title, want)
	}
	if d := sigs[0].Detail; !strings.Contains(d, "Plan Free is close to its limit") || !strings.Contains(d, "refused at ingest") || !strings.Contains(d, "Billing page") {
		t.Errorf("detail %q", d)
	}
	u := usageOf("events_per_month", "99999", ptr("100000"))
	u.OveragePercent = 10
	if s := alerts.PlanLimitSignals("", u); len(s) != 1 || !strings.HasPrefix(s[0].Title, "Organisation org-a has used 99% ") || !strings.Contains(s[0].Detail, "10% overage") {
		t.Errorf("99.999%% without a name: %+v", s)
	}
	s := alerts.PlanLimitSignals("Acme", usageOf("managed_run_usd_per_month", "1234.5", ptr("1000")))
	if len(s) != 2 || !strings.Contains(s[1].Title, "($1,234.5 of $1,000)") || !strings.Contains(s[1].Detail, "has reached its limit") {
		t.Errorf("dollars: %+v", s)
	}
}

// TestPlanLimitPayloads: a plan_limit alert's JSON body carries the
// limit's facts beside the sentence, and its Slack message shows them as
// fields.
func TestPlanLimitPayloads(t *testing.T) {
	sig := alerts.PlanLimitSignals("Acme", usageOf("events_per_month", "82000", ptr("100000")))[0]
	rule := sampleRule()
	a := alerts.NewAlert(rule, sig, at)
	body, err := alerts.Body(agentscope.AlertFormatJSON, a)
	if err != nil {
		t.Fatal(err)
	}
	var p alerts.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	pl := p.PlanLimit
	if p.Kind != "plan_limit" || p.Severity != "medium" || p.SessionID != "billing-2026-12" || !strings.HasPrefix(p.Title, "Organisation Acme has used 82%") ||
		pl == nil || pl.Name != "events_per_month" || pl.Used != "82000" || pl.Limit != "100000" || pl.Threshold != 80 || pl.Period != "2026-12" || pl.Plan != "free" {
		t.Errorf("payload %s", body)
	}
	slack, err := alerts.Body(agentscope.AlertFormatSlack, a)
	if err != nil {
		t.Fatal(err)
	}
	checkSlackShape(t, slack)
	for _, want := range []string{"[MEDIUM] Organisation Acme has used 82%", "*Limit*\\nevents_per_month", "*Used*\\n82,000 of 100,000 (82%)", "*Period*\\n2026-12"} {
		if !strings.Contains(string(slack), want) {
			t.Errorf("slack body lacks %q: %s", want, slack)
		}
	}
	ev := a.Event()
	if err := agentscope.ValidateEvent(&ev); err != nil {
		t.Fatalf("the Alert event is not valid: %v", err)
	}
	if at := ev.Attributes; at["plan_limit"] != "events_per_month" || at["threshold"] != 80 || at["used"] != json.Number("82000") || at["period"] != "2026-12" {
		t.Errorf("event attributes %+v", ev.Attributes)
	}
}

// TestRaisePlanLimitAlerts: the first plan-limit alert of a period starts
// the organisation's billing session (ended as of the period's end, its
// agent AgentScope's); raising again records and queues nothing, even after
// River has forgotten the completed delivery (it does after a day), so a
// limit that stays reached is delivered once per period.
func TestRaisePlanLimitAlerts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		rc := newReceiver(t, func(int) int { return http.StatusOK })
		svc, err := alerts.NewService(alerts.Options{Store: h.store, River: h.client, Queue: alerts.Queue, Network: netguard.Policy{AllowPrivate: true}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		rule, err := h.store.CreateAlertRule(ctx, agentscope.AlertRule{OrgID: orgID, Name: "quota", Enabled: true, Kinds: []string{"plan_limit"}, URL: rc.url()})
		if err != nil {
			t.Fatal(err)
		}
		rc.setSecret(rule.Secret)
		u := usageOf("events_per_month", "85", ptr("100"))
		u.OrgID = orgID
		if n, err := svc.RaisePlanLimitAlerts(ctx, "Acme", u); err != nil || n != 1 {
			t.Fatalf("first raise: %d, %v; want 1", n, err)
		}
		run, err := h.store.GetRun(ctx, orgID, "billing-2026-12")
		if err != nil || run.Agent != alerts.PlanLimitAgent || run.Status != agentscope.StatusCompleted || run.EndedAt == nil || !run.EndedAt.Equal(u.PeriodEnd) || run.Metadata["source"] != "billing" {
			t.Fatalf("billing session %+v, %v", run, err)
		}
		job, _ := h.waitEnd(t)
		if job.State != rivertype.JobStateCompleted {
			t.Fatalf("delivery %s", job.State)
		}
		if _, err := h.client.JobDelete(ctx, job.ID); err != nil { // as River's cleaner does after a day
			t.Fatal(err)
		}
		if n, err := svc.RaisePlanLimitAlerts(ctx, "Acme", u); err != nil || n != 0 {
			t.Errorf("second raise: %d, %v; want 0", n, err)
		}
		// 100 %: the 100 % alert alone is new.
		u = usageOf("events_per_month", "100", ptr("100"))
		u.OrgID = orgID
		if n, err := svc.RaisePlanLimitAlerts(ctx, "Acme", u); err != nil || n != 1 {
			t.Fatalf("at 100%%: %d, %v; want 1", n, err)
		}
		if job, _ := h.waitEnd(t); job.State != rivertype.JobStateCompleted {
			t.Fatalf("delivery %s", job.State)
		}
		jobs, err := h.client.JobList(ctx, nil)
		if err != nil || len(jobs.Jobs) != 1 {
			t.Errorf("jobs queued after the 100%% alert: %d, %v; want the one", len(jobs.Jobs), err)
		}
		evs, err := h.store.ListEvents(ctx, orgID, "billing-2026-12", agentscope.EventFilter{})
		if err != nil || len(evs) != 3 || evs[0].Type != agentscope.SessionStarted || evs[1].Type != alerts.EventAlert || evs[2].Type != alerts.EventAlert {
			t.Errorf("billing session's events %+v, %v; want SessionStarted and two alerts", evs, err)
		}
		if requests, delivered, forged := rc.counts(); requests != 2 || delivered != 2 || len(forged) != 0 {
			t.Errorf("receiver: %d requests, %d delivered, forged %v; want 2", requests, delivered, forged)
		}
	})
}
