package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// AlertStore is what a store keeps alert rules with (*sqlstore.Store).
type AlertStore interface {
	CreateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error)
	GetAlertRule(ctx context.Context, orgID, id string) (agentscope.AlertRule, error)
	ListAlertRules(ctx context.Context, orgID string) ([]agentscope.AlertRule, error)
	UpdateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error)
	DeleteAlertRule(ctx context.Context, orgID, id string) error
	// AlertRuleForDelivery is what the alerts delivery worker reads: the
	// rule with its secret.
	AlertRuleForDelivery(ctx context.Context, orgID, id string) (agentscope.AlertRule, error)
	// OrgsWithPlanLimitRules and StoredEventIDs serve the plan-limit
	// alerts: which organisations to check, and which alerts a session
	// has recorded already.
	OrgsWithPlanLimitRules(ctx context.Context) ([]agentscope.Org, error)
	StoredEventIDs(ctx context.Context, orgID, sessionID string, eventIDs []string) ([]string, error)
	Append(ctx context.Context, reqs []agentscope.AppendRequest) []agentscope.AppendResult
}

// RunAlerts runs the suite of alert rules against the stores open returns,
// which must implement AlertStore: create, read, update and delete,
// organisation scoping, validation, and that reads never hand out the
// secret.
func RunAlerts(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, AlertStore){
		"CRUD":       testAlertRuleCRUD,
		"OrgScoping": testAlertRuleOrgScoping,
		"Validation": testAlertRuleValidation,
		"PlanLimit":  testPlanLimitRules,
		"StoredIDs":  testStoredEventIDs,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, ok := open(t).(AlertStore)
			if !ok {
				t.Fatal("the store does not keep alert rules (storetest.AlertStore)")
			}
			fn(t, s)
		})
	}
}

const slackURL = "https://hooks.slack.com/services/T000/B000/tokenXYZ"

func alertRule(orgID, name string) agentscope.AlertRule {
	return agentscope.AlertRule{
		OrgID: orgID, Name: name, Enabled: true,
		Kinds: []string{"loop", agentscope.AlertKindRisk}, MinSeverity: agentscope.RiskHigh,
		URL: slackURL, Format: agentscope.AlertFormatSlack,
	}
}

func testAlertRuleCRUD(t *testing.T, s AlertStore) {
	ctx := context.Background()
	first, err := s.CreateAlertRule(ctx, alertRule(org, "  pager  "))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.Name != "pager" || first.CreatedAt.IsZero() {
		t.Errorf("created %+v", first)
	}
	if !strings.HasPrefix(first.Secret, "whsec_") || len(first.Secret) < 32 {
		t.Errorf("generated secret has the wrong shape (length %d)", len(first.Secret))
	}
	in := agentscope.AlertRule{
		OrgID: org, Name: "budget", Kinds: []string{agentscope.AlertKindBudget}, BudgetPercent: 90,
		Agents: []string{"bot", "alpha"}, URL: "http://10.0.0.7:8080/hook", Secret: "0123456789abcdef-given",
	}
	second, err := s.CreateAlertRule(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if second.Secret != in.Secret || second.Format != agentscope.AlertFormatJSON || second.Enabled {
		t.Errorf("second rule: format %q enabled %v, given secret kept: %v", second.Format, second.Enabled, second.Secret == in.Secret)
	}

	// Reads never carry the secret.
	got, err := s.GetAlertRule(ctx, org, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := second
	want.Secret = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("get:\n got %+v\nwant %+v", got, want)
	}
	list, err := s.ListAlertRules(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("list %v", list)
	}
	for _, r := range list {
		if r.Secret != "" {
			t.Errorf("list returned the secret of %s", r.ID)
		}
	}
	if list[0].Agents != nil || !reflect.DeepEqual(list[0].Kinds, []string{"loop", "risk"}) {
		t.Errorf("lists of the first rule: kinds %v agents %v", list[0].Kinds, list[0].Agents)
	}
	// The delivery worker's read has it.
	full, err := s.AlertRuleForDelivery(ctx, org, first.ID)
	if err != nil || full.Secret != first.Secret || full.URL != slackURL {
		t.Errorf("for delivery: %v (secret kept: %v)", err, full.Secret == first.Secret)
	}

	// Update replaces the rule but keeps the secret unless one is given.
	upd := got
	upd.Name, upd.Enabled, upd.BudgetPercent, upd.Agents = "budget-95", true, 95, nil
	updated, err := s.UpdateAlertRule(ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Name != "budget-95" || !updated.Enabled || updated.BudgetPercent != 95 || updated.Agents != nil || updated.Secret != "" {
		t.Errorf("updated %+v", updated)
	}
	if updated.UpdatedAt.Before(second.UpdatedAt) || !updated.CreatedAt.Equal(second.CreatedAt) {
		t.Errorf("times: created %v→%v updated %v→%v", second.CreatedAt, updated.CreatedAt, second.UpdatedAt, updated.UpdatedAt)
	}
	if full, _ := s.AlertRuleForDelivery(ctx, org, second.ID); full.Secret != in.Secret {
		t.Error("update without a secret changed the secret")
	}
	upd.Secret = "rotated-secret-0123456789"
	if _, err := s.UpdateAlertRule(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if full, _ := s.AlertRuleForDelivery(ctx, org, second.ID); full.Secret != upd.Secret {
		t.Error("update with a secret did not rotate it")
	}

	if err := s.DeleteAlertRule(ctx, org, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAlertRule(ctx, org, first.ID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.GetAlertRule(ctx, org, first.ID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("get deleted: %v", err)
	}
	if _, err := s.AlertRuleForDelivery(ctx, org, first.ID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("deliver deleted: %v", err)
	}
	if list, _ := s.ListAlertRules(ctx, org); len(list) != 1 {
		t.Errorf("after delete: %v", list)
	}
	ghost := upd
	ghost.ID = "ar-missing"
	if _, err := s.UpdateAlertRule(ctx, ghost); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("update missing: %v", err)
	}
}

func testAlertRuleOrgScoping(t *testing.T, s AlertStore) {
	ctx := context.Background()
	a, err := s.CreateAlertRule(ctx, alertRule(org, "a-rule"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAlertRule(ctx, alertRule("org-b", "b-rule")); err != nil {
		t.Fatal(err)
	}
	const orgB = "org-b"
	if _, err := s.GetAlertRule(ctx, orgB, a.ID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("org B got org A's rule: %v", err)
	}
	if _, err := s.AlertRuleForDelivery(ctx, orgB, a.ID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("org B read org A's secret: %v", err)
	}
	hijack := alertRule(orgB, "hijacked")
	hijack.ID, hijack.URL, hijack.Secret = a.ID, "https://attacker.example/", "attacker-secret-0123"
	if _, err := s.UpdateAlertRule(ctx, hijack); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("org B updated org A's rule: %v", err)
	}
	if err := s.DeleteAlertRule(ctx, orgB, a.ID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("org B deleted org A's rule: %v", err)
	}
	listB, err := s.ListAlertRules(ctx, orgB)
	if err != nil || len(listB) != 1 || listB[0].Name != "b-rule" {
		t.Errorf("org B's list: %v, %v", listB, err)
	}
	full, err := s.AlertRuleForDelivery(ctx, org, a.ID)
	if err != nil || full.Name != "a-rule" || full.URL != slackURL || full.Secret != a.Secret {
		t.Errorf("org A's rule changed: %v, %v", full, err)
	}
	if list, _ := s.ListAlertRules(ctx, "org-none"); list == nil || len(list) != 0 {
		t.Errorf("empty organisation: %#v", list)
	}
}

func testAlertRuleValidation(t *testing.T, s AlertStore) {
	ctx := context.Background()
	const secret = "short-secret"
	for _, c := range []struct {
		name  string
		edit  func(*agentscope.AlertRule)
		field string
	}{
		{"no org", func(r *agentscope.AlertRule) { r.OrgID = "" }, "org_id"},
		{"no name", func(r *agentscope.AlertRule) { r.Name = "  " }, "name"},
		{"long name", func(r *agentscope.AlertRule) { r.Name = strings.Repeat("n", 101) }, "name"},
		{"no kinds", func(r *agentscope.AlertRule) { r.Kinds = nil }, "kinds"},
		{"unknown kind", func(r *agentscope.AlertRule) { r.Kinds = []string{"loops"} }, "kinds"},
		{"repeated kind", func(r *agentscope.AlertRule) { r.Kinds = []string{"loop", "loop"} }, "kinds"},
		{"bad severity", func(r *agentscope.AlertRule) { r.MinSeverity = "severe" }, "min_severity"},
		{"negative budget", func(r *agentscope.AlertRule) { r.BudgetPercent = -1 }, "budget_percent"},
		{"budget without threshold", func(r *agentscope.AlertRule) { r.Kinds = []string{agentscope.AlertKindBudget} }, "budget_percent"},
		{"bad agent", func(r *agentscope.AlertRule) { r.Agents = []string{"has space"} }, "agents"},
		{"no url", func(r *agentscope.AlertRule) { r.URL = "" }, "url"},
		{"ftp url", func(r *agentscope.AlertRule) { r.URL = "ftp://files.example/tokenXYZ" }, "url"},
		{"relative url", func(r *agentscope.AlertRule) { r.URL = "/services/tokenXYZ" }, "url"},
		{"no host", func(r *agentscope.AlertRule) { r.URL = "https:///tokenXYZ" }, "url"},
		{"bad format", func(r *agentscope.AlertRule) { r.Format = "xml" }, "format"},
		{"short secret", func(r *agentscope.AlertRule) { r.Secret = secret }, "secret"},
	} {
		r := alertRule(org, "rule")
		c.edit(&r)
		_, err := s.CreateAlertRule(ctx, r)
		var ae *agentscope.Error
		if !errors.As(err, &ae) || ae.Code != agentscope.EINVALID || ae.Field != c.field {
			t.Errorf("%s: got %v, want EINVALID on %s", c.name, err, c.field)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "tokenXYZ") || strings.Contains(msg, secret) {
			t.Errorf("%s: the error repeats the URL or the secret: %s", c.name, msg)
		}
		// Update validates alike.
		if _, err := s.UpdateAlertRule(ctx, r); agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("%s: update: %v", c.name, err)
		}
	}
	if list, _ := s.ListAlertRules(ctx, org); len(list) != 0 {
		t.Errorf("invalid rules were stored: %v", list)
	}
}

// testPlanLimitRules: OrgsWithPlanLimitRules lists the organisations with
// an enabled rule listing plan_limit or "*" for every agent, once each,
// and none whose rules cannot match a plan-limit signal (another kind,
// disabled, limited to some agents).
func testPlanLimitRules(t *testing.T, s AlertStore) {
	ctx := context.Background()
	mk := func(org, name string, kinds []string, enabled bool, agents []string) {
		t.Helper()
		r := alertRule(org, name)
		r.Kinds, r.Enabled, r.Agents, r.MinSeverity = kinds, enabled, agents, ""
		if _, err := s.CreateAlertRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.OrgsWithPlanLimitRules(ctx); err != nil || len(got) != 0 {
		t.Fatalf("no rules: %+v, %v", got, err)
	}
	mk("org-plan", "quota", []string{"loop", agentscope.AlertKindPlanLimit}, true, nil)
	mk("org-plan", "quota too", []string{agentscope.AlertKindPlanLimit}, true, nil)
	mk("org-any", "all", []string{agentscope.AlertKindAny}, true, nil)
	mk("org-other", "loops", []string{"loop", agentscope.AlertKindRisk}, true, nil)
	mk("org-off", "off", []string{agentscope.AlertKindPlanLimit}, false, nil)
	mk("org-agents", "bot only", []string{agentscope.AlertKindPlanLimit}, true, []string{"bot"})
	got, err := s.OrgsWithPlanLimitRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.ID)
	}
	if !slices.Equal(ids, []string{"org-any", "org-plan"}) {
		t.Errorf("organisations with plan-limit rules = %v, want [org-any org-plan]", ids)
	}
}

// testStoredEventIDs: StoredEventIDs answers which of the ids a session
// stores, never another session's or organisation's.
func testStoredEventIDs(t *testing.T, s AlertStore) {
	ctx := context.Background()
	t0 := time.Now().UTC()
	for _, o := range []string{org, "org-b"} {
		for _, sid := range []string{"s1", "s2"} {
			res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: o, SessionID: sid,
				Start:  &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning},
				Events: []agentscope.Event{{EventID: "st", Type: agentscope.SessionStarted, TS: t0}, {EventID: o + "-" + sid, Type: agentscope.SessionStarted, TS: t0}}}})[0]
			if res.Err != nil {
				t.Fatal(res.Err)
			}
		}
	}
	got, err := s.StoredEventIDs(ctx, org, "s1", []string{"st", org + "-s1", org + "-s2", "org-b-s1", "nope"})
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []string{org + "-s1", "st"}) {
		t.Errorf("stored ids = %v, %v; want [%s-s1 st]", got, err, org)
	}
	if got, err := s.StoredEventIDs(ctx, org, "gone", []string{"st"}); err != nil || len(got) != 0 {
		t.Errorf("a missing session's ids = %v, %v", got, err)
	}
}
