package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// configStore is what a store changes agents, budgets and alert rules
// with (*sqlstore.Store).
type configStore interface {
	CreateAgent(ctx context.Context, a agentscope.Agent) (agentscope.Agent, error)
	PutAgent(ctx context.Context, a agentscope.Agent) error
	PutBudget(ctx context.Context, b agentscope.AgentCostBudget) (agentscope.AgentCostBudget, error)
	DeleteBudget(ctx context.Context, orgID, agent string, period agentscope.BudgetPeriod) error
	CreateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error)
	UpdateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error)
	DeleteAlertRule(ctx context.Context, orgID, id string) error
}

// testAuditOfConfigChanges: each change to an organisation's agents,
// budgets and alert rules is in its audit log, written by the change itself
// and naming the caller in ctx; a change that does not happen (a name
// taken, an unknown rule) writes nothing; no entry holds a webhook's URL or
// secret; the other organisation's log stays empty of them.
func testAuditOfConfigChanges(t *testing.T, is IdentityStore) {
	s, ok := is.(configStore)
	if !ok {
		t.Fatal("the store does not keep agents, budgets and alert rules")
	}
	org, other := mustOrg(t, is, "Acme"), mustOrg(t, is, "Globex")
	key := agentscope.Principal{Kind: agentscope.PrincipalKey, OrgID: org.ID, KeyID: "key-1", Scopes: []agentscope.Scope{agentscope.ScopeAdmin}}
	ctx := agentscope.WithPrincipal(context.Background(), key)
	spec := []byte(`{"model":"m"}`)
	const url, secret = "https://hooks.example.com/services/T000/B000/very-secret-path", "whsec-very-secret-0123456789"
	var ruleID string
	steps := []struct {
		what string
		do   func() error
		want string // the action it writes, or "" for none
	}{
		{"create agent", func() error {
			_, err := s.CreateAgent(ctx, agentscope.Agent{OrgID: org.ID, Name: "writer", Kind: agentscope.AgentManaged, Spec: spec})
			return err
		}, "agent.created"},
		{"create a taken name", func() error {
			_, err := s.CreateAgent(ctx, agentscope.Agent{OrgID: org.ID, Name: "writer", Kind: agentscope.AgentManaged, Spec: spec})
			if agentscope.ErrorCode(err) != agentscope.ECONFLICT {
				t.Errorf("CreateAgent of a taken name: %v", err)
			}
			return nil
		}, ""},
		{"update agent", func() error {
			return s.PutAgent(ctx, agentscope.Agent{OrgID: org.ID, Name: "writer", Kind: agentscope.AgentManaged, Spec: []byte(`{"model":"m","system_prompt":"p"}`)})
		}, "agent.updated"},
		{"put a new agent", func() error {
			return s.PutAgent(ctx, agentscope.Agent{OrgID: org.ID, Name: "reader", Kind: agentscope.AgentManaged, Spec: spec})
		}, "agent.created"},
		{"set budget", func() error {
			_, err := s.PutBudget(ctx, agentscope.AgentCostBudget{OrgID: org.ID, Agent: "writer", Period: agentscope.PeriodDay, LimitUSD: 5_000_000_000, HardCap: true})
			return err
		}, "budget.set"},
		{"delete budget", func() error { return s.DeleteBudget(ctx, org.ID, "writer", agentscope.PeriodDay) }, "budget.deleted"},
		{"delete a missing budget", func() error {
			if err := s.DeleteBudget(ctx, org.ID, "writer", agentscope.PeriodDay); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				t.Errorf("DeleteBudget of a missing budget: %v", err)
			}
			return nil
		}, ""},
		{"create rule", func() error {
			r, err := s.CreateAlertRule(ctx, agentscope.AlertRule{OrgID: org.ID, Name: "loops", Enabled: true, Kinds: []string{"loop"}, URL: url, Secret: secret})
			ruleID = r.ID
			return err
		}, "alert_rule.created"},
		{"update rule", func() error {
			_, err := s.UpdateAlertRule(ctx, agentscope.AlertRule{OrgID: org.ID, ID: ruleID, Name: "loops", Enabled: false, Kinds: []string{"loop"}, URL: url, Secret: secret + "-2"})
			return err
		}, "alert_rule.updated"},
		{"update another org's rule", func() error {
			_, err := s.UpdateAlertRule(ctx, agentscope.AlertRule{OrgID: other.ID, ID: ruleID, Name: "x", Enabled: true, Kinds: []string{"loop"}, URL: url})
			if agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				t.Errorf("UpdateAlertRule across organisations: %v", err)
			}
			return nil
		}, ""},
		{"delete rule", func() error { return s.DeleteAlertRule(ctx, org.ID, ruleID) }, "alert_rule.deleted"},
		{"delete it again", func() error {
			if err := s.DeleteAlertRule(ctx, org.ID, ruleID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				t.Errorf("DeleteAlertRule of a deleted rule: %v", err)
			}
			return nil
		}, ""},
	}
	want := []string{"org.created"}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if st.want != "" {
			want = append(want, st.want)
		}
	}
	page, err := is.ListAudit(ctx, org.ID, agentscope.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(page.Entries) - 1; i >= 0; i-- {
		e := page.Entries[i]
		got = append(got, string(e.Action))
		if e.Action != agentscope.AuditOrgCreated && e.Actor != "key:key-1" {
			t.Errorf("%s names actor %q, want key:key-1", e.Action, e.Actor)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit actions\n%v\nwant\n%v", got, want)
	}
	all := mustJSON(t, page)
	for _, leak := range []string{"very-secret", "hooks.example.com"} {
		if strings.Contains(all, leak) {
			t.Errorf("the audit log holds the webhook's %q: %s", leak, all)
		}
	}
	for _, frag := range []string{`"target":"writer"`, `"period":"day"`, `"secret_replaced":true`, `"name":"loops"`, `"changed":["system_prompt"]`} {
		if !strings.Contains(all, frag) {
			t.Errorf("audit log lacks %s: %s", frag, all)
		}
	}
	if p, err := is.ListAudit(ctx, other.ID, agentscope.AuditFilter{}); err != nil || len(p.Entries) != 1 {
		t.Errorf("the other organisation's log: %+v, %v (want only its org.created)", p.Entries, err)
	}
}
