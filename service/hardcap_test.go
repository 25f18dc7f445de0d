package service_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// TestStartRunHardCap: on both stores, start_run refuses a self-reported
// run of an agent whose spend has reached a hard-cap budget, with the
// forbidden code the runtime's admission refuses a managed run with; a
// soft budget, or a hard cap with room left, lets the run start, and
// neither another agent nor the same agent name in another organisation
// is held to the budget.
func TestStartRunHardCap(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
			t.Cleanup(func() { rec.Close() })
			m := metrics.New(metrics.Options{})
			svc := service.New(rec, service.Options{Agents: st, Metrics: m})
			orgA, orgB := asOrg("org-a"), asOrg("org-b")
			start := func(ctx context.Context, agent, sid string) error {
				t.Helper()
				_, err := svc.StartRun(ctx, service.StartRunInput{Agent: agent, SessionID: sid})
				return err
			}
			if err := start(orgA, "ext-bot", "cap-1"); err != nil {
				t.Fatal(err)
			}
			if res, err := svc.Record(orgA, "cap-1", []json.RawMessage{json.RawMessage(`{"type":"CostRecorded","amount_usd":0.02,"currency":"USD","source":"test"}`)}); err != nil || !res[0].Accepted {
				t.Fatalf("record a cost: %+v %v", res, err)
			}
			if _, err := svc.EndRun(orgA, service.EndRunInput{SessionID: "cap-1", Status: "completed"}); err != nil {
				t.Fatal(err)
			}
			for _, b := range []agentscope.AgentCostBudget{
				{Agent: "ext-bot", Period: agentscope.PeriodDay, LimitUSD: usd(t, "0.01")},              // soft: warns only
				{Agent: "ext-bot", Period: agentscope.PeriodWeek, LimitUSD: usd(t, "1"), HardCap: true}, // room left
			} {
				if _, err := svc.SetBudget(orgA, b); err != nil {
					t.Fatal(err)
				}
			}
			if err := start(orgA, "ext-bot", "cap-2"); err != nil {
				t.Fatalf("a run under a soft budget and a hard cap with room: %v", err)
			}
			if _, err := svc.SetBudget(orgA, agentscope.AgentCostBudget{Agent: "ext-bot", Period: agentscope.PeriodDay, LimitUSD: usd(t, "0.01"), HardCap: true}); err != nil {
				t.Fatal(err)
			}
			err := start(orgA, "ext-bot", "cap-3")
			if agentscope.ErrorCode(err) != agentscope.EFORBIDDEN || !strings.Contains(agentscope.ErrorMessage(err), `agent "ext-bot" has reached its hard cap: spent $0.02 of its $0.01 day budget since `) {
				t.Fatalf("a run over the hard cap: %v (code %s)", err, agentscope.ErrorCode(err))
			}
			if _, err := st.GetRun(orgA, "org-a", "cap-3"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				t.Errorf("the refused run was stored: %v", err)
			}
			if err := start(orgA, "other-bot", "cap-4"); err != nil {
				t.Errorf("another agent: %v", err)
			}
			if err := start(orgB, "ext-bot", "cap-5"); err != nil {
				t.Errorf("org-b's ext-bot, held to org-a's budget: %v", err)
			}
			// Counted as the runtime counts a managed run's refusal: once,
			// for the one refused start.
			if got := scrapeLine(t, m, `agentscope_refusals_total{reason="budget_hard_cap",what="run_start"}`); got != "1" {
				t.Errorf("refused starts counted %s, want 1", got)
			}
		})
	}
}

// scrapeLine returns the value m exposes for the series named as in the
// exposition format, or "" if it exposes none.
func scrapeLine(t *testing.T, m *metrics.Metrics, series string) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(w.Body.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			return v
		}
	}
	return ""
}

func usd(t *testing.T, s string) agentscope.USD {
	t.Helper()
	u, err := agentscope.ParseUSD(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// agentServiceOver is serviceOver with st keeping agents and budgets too.
func agentServiceOver(t *testing.T, st *sqlstore.Store) *service.Service {
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	t.Cleanup(func() { rec.Close() })
	return service.New(rec, service.Options{Agents: st})
}

// asOrg is a context of AgentScope's own work in org.
func asOrg(org string) context.Context {
	return agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal(org))
}
