package alerts_test

import (
	"reflect"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
)

func TestMatch(t *testing.T) {
	rule := func(id string, edit func(*agentscope.AlertRule)) agentscope.AlertRule {
		r := agentscope.AlertRule{ID: id, OrgID: "org-a", Name: id, Enabled: true, Kinds: []string{agentscope.AlertKindAny}, URL: "https://example.com/hook"}
		if edit != nil {
			edit(&r)
		}
		return r
	}
	loop := func(sev alerts.Severity) alerts.Signal {
		return alerts.Signal{OrgID: "org-a", SessionID: "s1", Agent: "bot", Kind: "loop", Severity: sev, Title: "loop"}
	}
	for _, c := range []struct {
		name string
		rule agentscope.AlertRule
		sig  alerts.Signal
		want bool
	}{
		{"any kind, no minimum", rule("r", nil), loop(alerts.SeverityLow), true},
		{"disabled", rule("r", func(r *agentscope.AlertRule) { r.Enabled = false }), loop(alerts.SeverityCritical), false},
		{"other organisation", rule("r", func(r *agentscope.AlertRule) { r.OrgID = "org-b" }), loop(alerts.SeverityCritical), false},
		{"signal without organisation", rule("r", nil), alerts.Signal{Kind: "loop", Severity: alerts.SeverityHigh}, false},
		{"signal without kind", rule("r", nil), alerts.Signal{OrgID: "org-a", Severity: alerts.SeverityHigh}, false},
		{"kind listed", rule("r", func(r *agentscope.AlertRule) { r.Kinds = []string{"stall", "loop"} }), loop(alerts.SeverityLow), true},
		{"kind not listed", rule("r", func(r *agentscope.AlertRule) { r.Kinds = []string{"stall"} }), loop(alerts.SeverityCritical), false},
		{"severity at minimum", rule("r", func(r *agentscope.AlertRule) { r.MinSeverity = alerts.SeverityHigh }), loop(alerts.SeverityHigh), true},
		{"severity above minimum", rule("r", func(r *agentscope.AlertRule) { r.MinSeverity = alerts.SeverityHigh }), loop(alerts.SeverityCritical), true},
		{"severity below minimum", rule("r", func(r *agentscope.AlertRule) { r.MinSeverity = alerts.SeverityHigh }), loop(alerts.SeverityMedium), false},
		{"no severity, minimum set", rule("r", func(r *agentscope.AlertRule) { r.MinSeverity = alerts.SeverityLow }), loop(""), false},
		{"agent listed", rule("r", func(r *agentscope.AlertRule) { r.Agents = []string{"alpha", "bot"} }), loop(alerts.SeverityLow), true},
		{"agent not listed", rule("r", func(r *agentscope.AlertRule) { r.Agents = []string{"alpha"} }), loop(alerts.SeverityCritical), false},
		{
			"risk level compared, not severity",
			rule("r", func(r *agentscope.AlertRule) {
				r.Kinds, r.MinSeverity = []string{agentscope.AlertKindRisk}, alerts.SeverityHigh
			}),
			alerts.Signal{OrgID: "org-a", Kind: agentscope.AlertKindRisk, RiskLevel: alerts.SeverityCritical, Severity: alerts.SeverityLow}, true,
		},
		{
			"risk level below minimum",
			rule("r", func(r *agentscope.AlertRule) {
				r.Kinds, r.MinSeverity = []string{agentscope.AlertKindRisk}, alerts.SeverityHigh
			}),
			alerts.Signal{OrgID: "org-a", Kind: agentscope.AlertKindRisk, RiskLevel: alerts.SeverityMedium, Severity: alerts.SeverityCritical}, false,
		},
		{
			"budget reached",
			rule("r", func(r *agentscope.AlertRule) { r.Kinds, r.BudgetPercent = []string{agentscope.AlertKindBudget}, 90 }),
			alerts.Signal{OrgID: "org-a", Kind: agentscope.AlertKindBudget, BudgetPercent: 90}, true,
		},
		{
			"budget not reached",
			rule("r", func(r *agentscope.AlertRule) { r.Kinds, r.BudgetPercent = []string{agentscope.AlertKindBudget}, 90 }),
			alerts.Signal{OrgID: "org-a", Kind: agentscope.AlertKindBudget, BudgetPercent: 89.99}, false,
		},
		{
			"budget ignores the minimum severity",
			rule("r", func(r *agentscope.AlertRule) { r.BudgetPercent, r.MinSeverity = 80, alerts.SeverityCritical }),
			alerts.Signal{OrgID: "org-a", Kind: agentscope.AlertKindBudget, BudgetPercent: 120}, true,
		},
		{"budget signal, rule without threshold", rule("r", nil), alerts.Signal{OrgID: "org-a", Kind: agentscope.AlertKindBudget, BudgetPercent: 150}, false},
		{
			"budget_proximity below the rule's threshold",
			rule("r", func(r *agentscope.AlertRule) { r.Kinds, r.BudgetPercent = []string{"budget_proximity"}, 90 }),
			alerts.Signal{OrgID: "org-a", Kind: "budget_proximity", Severity: alerts.SeverityHigh, BudgetPercent: 85}, false,
		},
		{
			"budget_proximity at the rule's threshold",
			rule("r", func(r *agentscope.AlertRule) { r.Kinds, r.BudgetPercent = []string{"budget_proximity"}, 90 }),
			alerts.Signal{OrgID: "org-a", Kind: "budget_proximity", Severity: alerts.SeverityHigh, BudgetPercent: 91}, true,
		},
		{
			"threshold does not apply to a finding without a percentage",
			rule("r", func(r *agentscope.AlertRule) { r.BudgetPercent = 90 }), loop(alerts.SeverityLow), true,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := alerts.Match([]agentscope.AlertRule{c.rule}, c.sig)
			if (len(got) == 1) != c.want {
				t.Errorf("matched %v, want %v", len(got) == 1, c.want)
			}
		})
	}
}

func TestMatchKeepsOrderOfSeveralRules(t *testing.T) {
	mk := func(id string, kinds []string, min alerts.Severity) agentscope.AlertRule {
		return agentscope.AlertRule{ID: id, OrgID: "o", Enabled: true, Kinds: kinds, MinSeverity: min}
	}
	rules := []agentscope.AlertRule{
		mk("a", []string{"*"}, alerts.SeverityCritical),
		mk("b", []string{"retry_storm"}, ""),
		mk("c", []string{"loop", "retry_storm"}, alerts.SeverityMedium),
		mk("d", []string{"loop"}, ""),
	}
	got := alerts.Match(rules, alerts.Signal{OrgID: "o", Kind: "retry_storm", Severity: alerts.SeverityHigh})
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if !reflect.DeepEqual(ids, []string{"b", "c"}) {
		t.Errorf("matched %v, want [b c]", ids)
	}
	if got := alerts.Match(nil, alerts.Signal{OrgID: "o", Kind: "loop"}); got != nil {
		t.Errorf("no rules matched %v", got)
	}
}
