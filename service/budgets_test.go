package service_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// TestSetBudgetNeedsTheAgent: on both stores, a budget for an agent the
// caller's organisation does not have (a mistyped name, or another
// organisation's agent) is refused as not found, naming the agent, and
// nothing is kept; the organisation's own agents, external once they have
// run and managed ones (the starters), take budgets.
func TestSetBudgetNeedsTheAgent(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			svc := agentServiceOver(t, st)
			orgA, orgB := asOrg("org-a"), asOrg("org-b")
			if _, err := svc.StartRun(orgB, service.StartRunInput{Agent: "b-bot", SessionID: "b-1"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.StartRun(orgA, service.StartRunInput{Agent: "ext-bot", SessionID: "a-1"}); err != nil {
				t.Fatal(err)
			}
			budget := func(agent string) agentscope.AgentCostBudget {
				return agentscope.AgentCostBudget{Agent: agent, Period: agentscope.PeriodDay, LimitUSD: usd(t, "5")}
			}
			for _, agent := range []string{"ext-bto", "b-bot"} {
				_, err := svc.SetBudget(orgA, budget(agent))
				want := `agent "` + agent + `" not found: a budget is set on an agent of this organisation, a managed one once created or an external one once registered or once it has started a run`
				if agentscope.ErrorCode(err) != agentscope.ENOTFOUND || agentscope.ErrorMessage(err) != want {
					t.Errorf("budget of %s: %v (code %s), want not found: %s", agent, err, agentscope.ErrorCode(err), want)
				}
			}
			if _, err := svc.SetBudget(orgA, budget("bad name")); agentscope.ErrorCode(err) != agentscope.EINVALID {
				t.Errorf("an invalid name: %v, want invalid", err)
			}
			for _, agent := range []string{"ext-bot", "research"} {
				if _, err := svc.SetBudget(orgA, budget(agent)); err != nil {
					t.Errorf("budget of %s: %v", agent, err)
				}
			}
			bs, err := svc.GetBudgets(orgA, "")
			if err != nil || len(bs) != 2 || bs[0].Agent != "ext-bot" || bs[1].Agent != "research" {
				t.Errorf("org-a's budgets: %+v, %v; want ext-bot's and research's", bs, err)
			}
			if bs, err := svc.GetBudgets(orgB, ""); err != nil || len(bs) != 0 {
				t.Errorf("org-b's budgets: %+v, %v; want none", bs, err)
			}
		})
	}
}

// TestRegisterAgent: an external agent registered before its first run
// takes a budget at once, and a hard cap holds its runs from the first
// one on (its first run used to be what made it known, so that run went
// uncapped). A name the organisation has is refused; another
// organisation's is not the caller's concern.
func TestRegisterAgent(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			svc := agentServiceOver(t, st)
			orgA, orgB := asOrg("org-a"), asOrg("org-b")
			if _, err := svc.SetBudget(orgA, agentscope.AgentCostBudget{Agent: "night-bot", Period: agentscope.PeriodDay, LimitUSD: usd(t, "0.01"), HardCap: true}); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				t.Fatalf("a budget before registering: %v, want not found", err)
			}
			a, err := svc.RegisterAgent(orgA, "night-bot")
			if err != nil || a.Name != "night-bot" || a.Kind != agentscope.AgentExternal || a.OrgID != "org-a" || len(a.Spec) != 0 {
				t.Fatalf("register: %+v, %v", a, err)
			}
			if got, err := svc.GetAgent(orgA, "night-bot"); err != nil || got.Kind != agentscope.AgentExternal {
				t.Fatalf("the registered agent: %+v, %v", got, err)
			}
			if _, err := svc.SetBudget(orgA, agentscope.AgentCostBudget{Agent: "night-bot", Period: agentscope.PeriodDay, LimitUSD: usd(t, "0.01"), HardCap: true}); err != nil {
				t.Fatalf("a budget after registering: %v", err)
			}
			// The first run is held to the cap: its cost counts, and the
			// next run is refused.
			if _, err := svc.StartRun(orgA, service.StartRunInput{Agent: "night-bot", SessionID: "n-1"}); err != nil {
				t.Fatal(err)
			}
			if res, err := svc.Record(orgA, "n-1", []json.RawMessage{json.RawMessage(`{"type":"CostRecorded","amount_usd":0.02,"currency":"USD","source":"test"}`)}); err != nil || !res[0].Accepted {
				t.Fatalf("record a cost: %+v %v", res, err)
			}
			if _, err := svc.EndRun(orgA, service.EndRunInput{SessionID: "n-1", Status: "completed"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.StartRun(orgA, service.StartRunInput{Agent: "night-bot", SessionID: "n-2"}); agentscope.ErrorCode(err) != agentscope.EFORBIDDEN {
				t.Errorf("a run past the hard cap set before the first: %v, want refused", err)
			}
			if got, err := svc.GetAgent(orgA, "night-bot"); err != nil || got.Kind != agentscope.AgentExternal {
				t.Errorf("after its runs: %+v, %v; want still external", got, err)
			}
			for _, taken := range []string{"night-bot", "research"} {
				if _, err := svc.RegisterAgent(orgA, taken); agentscope.ErrorCode(err) != agentscope.ECONFLICT || !strings.Contains(agentscope.ErrorMessage(err), "already exists") {
					t.Errorf("register %s again: %v, want a conflict", taken, err)
				}
			}
			if got, err := svc.GetAgent(orgA, "research"); err != nil || got.Kind != agentscope.AgentManaged {
				t.Errorf("research after the refused register: %+v, %v; want managed still", got, err)
			}
			if _, err := svc.RegisterAgent(orgA, "bad name"); agentscope.ErrorCode(err) != agentscope.EINVALID {
				t.Errorf("an invalid name: %v, want invalid", err)
			}
			// org-b's agent of the same name is its own, without org-a's
			// budget.
			if _, err := svc.RegisterAgent(orgB, "night-bot"); err != nil {
				t.Fatalf("org-b registers the same name: %v", err)
			}
			if bs, err := svc.GetBudgets(orgB, ""); err != nil || len(bs) != 0 {
				t.Errorf("org-b's budgets: %+v, %v; want none", bs, err)
			}
			if _, err := svc.StartRun(orgB, service.StartRunInput{Agent: "night-bot", SessionID: "n-3"}); err != nil {
				t.Errorf("org-b's night-bot, held to org-a's budget: %v", err)
			}
		})
	}
}
