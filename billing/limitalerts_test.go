package billing_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/internal/netguard"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// Plan-limit alerts end to end: the real store (SQLite and Postgres) with
// billing on, the alert rules' service, River working the deliveries and
// the plan-limit job, and an httptest receiver that verifies every
// webhook's signature.

// alertPlans: "small" allows 100 events a month (no overage) and 10
// API keys; "open" is unlimited.
const alertPlans = `{"default":"small","plans":[
	{"id":"small","name":"Small","limits":{"events_per_month":100,"api_keys":10}},
	{"id":"open","name":"Open"}]}`

// limitHarness is one database with billing on and River working the
// alerts queue and the plan-limit job.
type limitHarness struct {
	store   *sqlstore.Store
	client  *river.Client[*sql.Tx]
	svc     *billing.Service
	alerter *billing.LimitAlerter
	rc      *webhookReceiver
}

func newLimitHarness(t *testing.T, backend string) *limitHarness {
	t.Helper()
	ctx := context.Background()
	plans, err := billing.Parse([]byte(alertPlans))
	if err != nil {
		t.Fatal(err)
	}
	h := &limitHarness{}
	opts := sqlstore.Options{Usage: plans}
	var driver riverdriver.Driver[*sql.Tx]
	if backend == "sqlite" {
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "limits.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		h.store, driver = s.Store, riversqlite.New(s.WriteDB())
	} else {
		s, err := postgres.Open(ctx, pgtest.URL(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		h.store, driver = s.Store, riverdatabasesql.New(s.WriteDB())
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	// The alerts service queues on the client its worker is registered
	// on, which exists only after the workers: as cmd/agentscope wires it,
	// the job reaches the service through a value filled in before Start.
	late := &lateAlerts{}
	h.svc = billing.NewService(plans, h.store, nil)
	h.alerter = billing.NewLimitAlerter(h.svc, h.store, late, nil)
	workers := river.NewWorkers()
	if err := alerts.AddWorkers(workers, alerts.Deps{Rules: h.store, RequestTimeout: 5 * time.Second,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		Network: netguard.Policy{AllowPrivate: true}, // the receiver is on this machine
	}); err != nil {
		t.Fatal(err)
	}
	river.AddWorker(workers, h.alerter)
	h.client, err = river.NewClient(driver, &river.Config{
		Logger: slog.New(slog.DiscardHandler), Workers: workers, TestOnly: true,
		Queues:            map[string]river.QueueConfig{alerts.Queue: {MaxWorkers: 2}, river.QueueDefault: {MaxWorkers: 1}},
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	late.svc, err = alerts.NewService(alerts.Options{Store: h.store, River: h.client, Network: netguard.Policy{AllowPrivate: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.client.Stop(ctx)
	})
	h.rc = newWebhookReceiver(t)
	return h
}

// lateAlerts is the alerts service, set once the River client exists.
type lateAlerts struct{ svc *alerts.Service }

func (l *lateAlerts) RaisePlanLimitAlerts(ctx context.Context, name string, u agentscope.BillingUsage) (int, error) {
	return l.svc.RaisePlanLimitAlerts(ctx, name, u)
}

// org creates an organisation named name on plan, with the rules given
// (each: kinds and minimum severity), and returns its id and the rules'
// ids.
func (h *limitHarness) org(t *testing.T, name, plan string, rules ...agentscope.AlertRule) (string, []string) {
	t.Helper()
	ctx := context.Background()
	o, err := h.store.CreateOrg(ctx, name, agentscope.ActorOperator)
	if err != nil {
		t.Fatal(err)
	}
	if plan != "small" {
		if _, err := h.store.SetOrgPlan(ctx, o.ID, plan, agentscope.ActorOperator, "test"); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, r := range rules {
		r.OrgID, r.Enabled, r.URL = o.ID, true, h.rc.srv.URL+"/hook/"+o.ID
		created, err := h.store.CreateAlertRule(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		h.rc.secrets.Store(created.ID, created.Secret)
		ids = append(ids, created.ID)
	}
	return o.ID, ids
}

// record stores n events of org's (counted in its usage: the first
// starts a session).
func (h *limitHarness) record(t *testing.T, org string, n int) {
	t.Helper()
	ctx := context.Background()
	sid := "s-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	evs := make([]agentscope.Event, n)
	for i := range evs {
		evs[i] = agentscope.Event{Type: agentscope.ModelInvoked, Provider: "openai", Model: "gpt-x"}
	}
	evs[0] = agentscope.Event{Type: agentscope.SessionStarted, Agent: "bot"}
	res := h.store.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: sid, Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning}, Events: evs}})[0]
	if res.Err != nil || res.Rejected != nil {
		t.Fatalf("record %d events: %v, rejected %v", n, res.Err, res.Rejected)
	}
}

// check runs one pass of the job and returns what it raised.
func (h *limitHarness) check(t *testing.T) map[string]int {
	t.Helper()
	raised, err := h.alerter.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return raised
}

// alertsOf returns org's Alert events of this period, as "rule threshold".
func (h *limitHarness) alertsOf(t *testing.T, org string) []string {
	t.Helper()
	evs, err := h.store.ListEvents(context.Background(), org, alerts.PlanLimitSessionID(billing.Period(time.Now())), agentscope.EventFilter{Types: []agentscope.EventType{alerts.EventAlert}})
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprint(ev.Attributes["rule_id"], " ", ev.Attributes["threshold"]))
	}
	return out
}

func eventUsage(t *testing.T, h *limitHarness, org string) int64 {
	t.Helper()
	n, err := h.store.OrgEventUsage(context.Background(), org, billing.Period(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func forBothStores(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// TestLimitAlertThresholds: 79 % raises nothing; 80 % raises the 80 %
// alert of each rule that takes it; 100 % adds the 100 % alert; passes
// repeated at each step raise nothing more, and each alert is delivered
// once. Another organisation's usage never alerts this one's rules, an
// organisation without a rule gets no alerts (nor a billing session), and
// the alerts are neither counted in the usage they report nor refused at
// the limit.
func TestLimitAlertThresholds(t *testing.T) {
	forBothStores(t, func(t *testing.T, backend string) {
		h := newLimitHarness(t, backend)
		a, aRules := h.org(t, "Acme", "small",
			agentscope.AlertRule{Name: "quota", Kinds: []string{agentscope.AlertKindPlanLimit}},
			agentscope.AlertRule{Name: "pager", Kinds: []string{agentscope.AlertKindAny}, MinSeverity: agentscope.RiskHigh})
		b, bRules := h.org(t, "Busy", "small", agentscope.AlertRule{Name: "quota", Kinds: []string{agentscope.AlertKindPlanLimit}})
		quiet, _ := h.org(t, "Quiet", "small")
		h.record(t, quiet, 100)
		h.record(t, b, 100)

		h.record(t, a, 79)
		if got := h.check(t); len(got) != 1 || got[b] != 2 {
			t.Fatalf("A at 79%%, B at 100%%: raised %v; want B's two alone", got)
		}
		if got := h.alertsOf(t, a); len(got) != 0 {
			t.Errorf("A at 79%%: alerts %v", got)
		}
		h.record(t, a, 1)
		if got := h.check(t); len(got) != 1 || got[a] != 1 {
			t.Errorf("A at 80%%: raised %v; want quota's 80%% alert", got)
		}
		if got := h.check(t); len(got) != 0 {
			t.Errorf("A at 80%%, again: raised %v; want nothing", got)
		}
		if got := h.alertsOf(t, a); strings.Join(got, ",") != aRules[0]+" 80" {
			t.Errorf("A at 80%%: alerts %v; want quota's 80%% alone", got)
		}
		h.record(t, a, 20)
		if got := h.check(t); len(got) != 1 || got[a] != 2 {
			t.Errorf("A at 100%%: raised %v; want quota's and pager's 100%% alerts", got)
		}
		if got := h.check(t); len(got) != 0 {
			t.Errorf("A at 100%%, again: raised %v", got)
		}
		want := []string{aRules[0] + " 80", aRules[0] + " 100", aRules[1] + " 100"}
		if got := h.alertsOf(t, a); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("A's alerts %v; want %v", got, want)
		}
		if got := h.alertsOf(t, b); strings.Join(got, ",") != bRules[0]+" 80,"+bRules[0]+" 100" {
			t.Errorf("B's alerts %v", got)
		}
		if _, err := h.store.GetRun(context.Background(), quiet, alerts.PlanLimitSessionID(billing.Period(time.Now()))); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
			t.Errorf("an organisation without rules has a billing session: %v", err)
		}
		// Retention never deletes the billing session during its period
		// (it ends with the period): its alerts are what keeps them from
		// being raised again. A's own sessions, older than the cut, go.
		sid := alerts.PlanLimitSessionID(billing.Period(time.Now()))
		_, periodEnd := billing.PeriodBounds(time.Now())
		pruned, err := h.store.PruneSessions(context.Background(), a, periodEnd.Add(-time.Second), 100, "test")
		if err != nil || len(pruned.Sessions) != 3 || slices.Contains(pruned.Sessions, sid) {
			t.Errorf("pruned %v, %v; want A's three sessions, not %s", pruned.Sessions, err, sid)
		}
		if got := h.check(t); len(got) != 0 {
			t.Errorf("after retention: raised %v; want nothing", got)
		}
		if n := eventUsage(t, h, a); n != 100 {
			t.Errorf("A's usage %d; want the 100 events recorded (the alerts and their session not counted)", n)
		}
		// Five deliveries, each once, each to its own organisation's rule.
		got := h.rc.wait(t, 5)
		for _, d := range got {
			if !strings.HasSuffix(d.path, "/"+d.payload.OrgID) || d.payload.Kind != agentscope.AlertKindPlanLimit {
				t.Errorf("delivery %s of %+v", d.path, d.payload)
			}
		}
		if ids := h.rc.ids(); len(ids) != 5 {
			t.Errorf("deliveries %v; want five distinct alerts", ids)
		}
		jobs, err := h.client.JobList(context.Background(), river.NewJobListParams().Kinds(alerts.DeliverArgs{}.Kind()).First(100))
		if err != nil || len(jobs.Jobs) != 5 {
			t.Errorf("%d deliveries queued, %v; want five", len(jobs.Jobs), err)
		}
	})
}

// TestLimitAlertsNothingToSay: an unlimited plan and billing off raise
// nothing, however much is used.
func TestLimitAlertsNothingToSay(t *testing.T) {
	forBothStores(t, func(t *testing.T, backend string) {
		h := newLimitHarness(t, backend)
		open, _ := h.org(t, "Open", "open", agentscope.AlertRule{Name: "quota", Kinds: []string{agentscope.AlertKindPlanLimit}})
		h.record(t, open, 500)
		if got := h.check(t); len(got) != 0 {
			t.Errorf("unlimited plan: raised %v", got)
		}
		off := billing.NewLimitAlerter(billing.NewService(nil, h.store, nil), h.store, &lateAlerts{}, nil)
		if got, err := off.Check(context.Background()); err != nil || got != nil {
			t.Errorf("billing off: %v, %v", got, err)
		}
		if got := h.alertsOf(t, open); len(got) != 0 {
			t.Errorf("alerts %v", got)
		}
	})
}

// TestLimitAlertWebhook: the plan-limit job, run by River as its periodic
// job would be, delivers a signed Slack message and a signed JSON alert
// that read as sentences about the organisation's limit.
func TestLimitAlertWebhook(t *testing.T) {
	forBothStores(t, func(t *testing.T, backend string) {
		h := newLimitHarness(t, backend)
		org, rules := h.org(t, "Acme Corp", "small",
			agentscope.AlertRule{Name: "json", Kinds: []string{agentscope.AlertKindPlanLimit}},
			agentscope.AlertRule{Name: "slack", Kinds: []string{agentscope.AlertKindPlanLimit}, Format: agentscope.AlertFormatSlack})
		h.record(t, org, 82)
		if _, err := h.client.Insert(context.Background(), billing.LimitAlertArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		got := h.rc.wait(t, 2)
		period := billing.Period(time.Now())
		sentence := "Organisation Acme Corp has used 82% of its plan's events_per_month (82 of 100) in " + period
		var sawJSON, sawSlack bool
		for _, d := range got {
			switch d.alertRule {
			case rules[0]:
				sawJSON = true
				p := d.payload
				if p.Title != sentence || p.OrgID != org || p.Severity != "medium" || p.SessionID != "billing-"+period || p.PlanLimit == nil || p.PlanLimit.Threshold != 80 || p.PlanLimit.Used != "82" {
					t.Errorf("JSON alert %s", d.body)
				}
			case rules[1]:
				sawSlack = true
				if !strings.Contains(d.body, `"text":"[MEDIUM] `+sentence+`"`) || !strings.Contains(d.body, `82 of 100 (82%)`) {
					t.Errorf("Slack alert %s", d.body)
				}
			}
		}
		if !sawJSON || !sawSlack {
			t.Errorf("deliveries %+v; want one JSON and one Slack", got)
		}
	})
}

// webhookReceiver verifies each request's signature with its rule's
// secret and keeps what it received.
type webhookReceiver struct {
	srv     *httptest.Server
	secrets sync.Map // rule id → secret
	mu      sync.Mutex
	got     []delivery
	forged  int
	arrived chan struct{}
}

type delivery struct {
	path, body, alertRule, alertID string
	payload                        alerts.Payload
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	rc := &webhookReceiver{arrived: make(chan struct{}, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p alerts.Payload
		_ = json.Unmarshal(body, &p)
		rule := ""
		rc.secrets.Range(func(id, secret any) bool {
			if alerts.Verify(secret.(string), r.Header.Get(alerts.HeaderTimestamp), body, r.Header.Get(alerts.HeaderSignature), time.Minute) == nil {
				rule = id.(string)
				return false
			}
			return true
		})
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rule == "" {
			rc.forged++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rc.got = append(rc.got, delivery{path: r.URL.Path, body: string(body), alertRule: rule, alertID: r.Header.Get(alerts.HeaderAlertID), payload: p})
		rc.arrived <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// wait returns the deliveries once n have arrived, failing on a forged
// request or on more than n.
func (rc *webhookReceiver) wait(t *testing.T, n int) []delivery {
	t.Helper()
	deadline := time.After(60 * time.Second) // a guard against a hang, not a wait
	for range n {
		select {
		case <-rc.arrived:
		case <-deadline:
			rc.mu.Lock()
			defer rc.mu.Unlock()
			t.Fatalf("%d of %d deliveries within 60 s", len(rc.got), n)
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.forged > 0 || len(rc.got) != n {
		t.Errorf("%d deliveries, %d forged; want %d, none forged", len(rc.got), rc.forged, n)
	}
	return append([]delivery(nil), rc.got...)
}

// ids returns the distinct alert ids delivered.
func (rc *webhookReceiver) ids() map[string]bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]bool{}
	for _, d := range rc.got {
		out[d.alertID] = true
	}
	return out
}
