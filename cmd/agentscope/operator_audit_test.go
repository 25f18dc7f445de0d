package main

import (
	"context"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// TestCLIChangesAreAuditedAsOperator: a change made at the command line
// (here an alert rule created and deleted) is in the organisation's audit
// log as the operator's, as orgs and keys are, not as AgentScope's own.
func TestCLIChangesAreAuditedAsOperator(t *testing.T) {
	vars := varsOf(t, stores()[0])
	out := cli(t, vars, "alerts", "create", "--name", "loops", "--kinds", "loop", "--url", "https://hooks.example.com/x")
	id := ""
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "ar-") {
			id = strings.Trim(f, ".,:;()")
		}
	}
	if id == "" {
		t.Fatalf("alerts create printed no rule id: %s", out)
	}
	cli(t, vars, "alerts", "delete", id)
	s, closeStore, err := openIdentityStore(context.Background(), &Env{Stderr: &strings.Builder{}}, "test", configOf(t, vars))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	page, err := s.ListAudit(context.Background(), agentscope.DefaultOrgID, agentscope.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[agentscope.AuditAction]string{}
	for _, e := range page.Entries {
		if e.Target == id {
			got[e.Action] = e.Actor
		}
	}
	if got[agentscope.AuditAlertRuleCreated] != agentscope.ActorOperator || got[agentscope.AuditAlertRuleDeleted] != agentscope.ActorOperator {
		t.Errorf("the rule's audit entries by actor: %v, want both by %s", got, agentscope.ActorOperator)
	}
}
