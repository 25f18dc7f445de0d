package service_test

import (
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
				want := `agent "` + agent + `" not found: a budget is set on an agent of this organisation, a managed one once created or an external one once it has started a run`
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
