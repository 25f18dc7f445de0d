package billing_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

const limitsPlans = `{"default":"small","plans":[
	{"id":"small","name":"Small","limits":{"events_per_month":100,"seats":2,"api_keys":1,"managed_run_usd_per_month":1,"retention_days":3}},
	{"id":"open","name":"Open"}]}`

func openStore(t testing.TB, plans *billing.Plans) *sqlite.Store {
	t.Helper()
	opts := sqlstore.Options{}
	if plans != nil {
		opts.Usage = plans
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "b.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func wantLimit(t *testing.T, what string, err error, contains string) {
	t.Helper()
	if agentscope.ErrorCode(err) != agentscope.EPLANLIMIT || !strings.Contains(err.Error(), contains) || !strings.Contains(err.Error(), "agentscope billing set-plan --org ") || strings.Contains(err.Error(), "ORG_ID") {
		t.Errorf("%s: %v; want a plan_limit error containing %q and the organisation's id", what, err, contains)
	}
}

// TestChecksRefuseAtTheLimit: seats (members and pending invitations),
// active API keys and managed-run spend are refused once the plan's
// limit is reached, and allowed again on a plan without it.
func TestChecksRefuseAtTheLimit(t *testing.T) {
	plans, err := billing.Parse([]byte(limitsPlans))
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, plans)
	m := metrics.New(metrics.Options{})
	svc := billing.NewService(plans, s, m)
	ctx := context.Background()
	o, err := s.CreateOrg(ctx, "Acme", agentscope.ActorOperator)
	if err != nil {
		t.Fatal(err)
	}
	// Seats: one member, one pending invitation = 2 of 2.
	if err := svc.CheckSeat(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, agentscope.User{Email: "a@example.com", Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, o.ID, u.ID, agentscope.RoleOwner, agentscope.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailInvitation, OrgID: o.ID, Role: agentscope.RoleMember, Email: "b@example.com", CreatedBy: "operator", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	wantLimit(t, "a third seat", svc.CheckSeat(ctx, o.ID), "allows 2 seats")
	// Keys: one active of 1; a revoked one does not count.
	k, _, err := s.CreateAPIKey(ctx, agentscope.APIKey{OrgID: o.ID, Name: "k1", Scopes: []agentscope.Scope{agentscope.ScopeRead}, CreatedBy: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	wantLimit(t, "a second key", svc.CheckAPIKey(ctx, o.ID), "allows 1 active API keys")
	if _, err := s.RevokeAPIKey(ctx, o.ID, k.ID, "operator"); err != nil {
		t.Fatal(err)
	}
	if err := svc.CheckAPIKey(ctx, o.ID); err != nil {
		t.Errorf("after revoking the key: %v", err)
	}
	// Managed-run spend: $1.50 recorded on a managed run this month.
	now := time.Now().UTC()
	amount := agentscope.USD(1_500_000_000)
	res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: o.ID, SessionID: "m1",
		Start:  &agentscope.Run{Agent: "managed-bot", Status: agentscope.StatusRunning, Managed: true, CreatedAt: now},
		Events: []agentscope.Event{{EventID: "st", Type: agentscope.SessionStarted, TS: now}, {EventID: "c", Type: agentscope.CostRecorded, TS: now, AmountUSD: &amount, Source: "test"}}}})[0]
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	wantLimit(t, "a managed run over the spend", svc.CheckManagedRun(ctx, o.ID), "$1.5 are in use")
	usage, err := svc.OrgUsage(ctx, o.ID)
	if err != nil || !usage.Enabled || usage.Plan != "small" || len(usage.Limits) != 4 || *usage.RetentionDays != 3 {
		t.Fatalf("usage = %+v, %v", usage, err)
	}
	for i, want := range []struct{ name, used, limit string }{{"events_per_month", "2", "100"}, {"seats", "2", "2"}, {"api_keys", "0", "1"}, {"managed_run_usd_per_month", "1.5", "1"}} {
		l := usage.Limits[i]
		if l.Name != want.name || string(l.Used) != want.used || l.Limit == nil || string(*l.Limit) != want.limit {
			t.Errorf("limit %d = %+v; want %+v", i, l, want)
		}
	}
	// Each refusal is counted, by what was refused.
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, what := range []string{"seat", "api_key", "managed_run"} {
		if line := `agentscope_refusals_total{reason="plan_limit",what="` + what + `"} 1`; !strings.Contains(rec.Body.String(), line+"\n") {
			t.Errorf("metrics lack %s", line)
		}
	}
	// On a plan without limits everything is allowed again.
	if prev, err := svc.SetPlan(ctx, o.ID, "open", agentscope.ActorOperator, "test"); err != nil || prev != "small" {
		t.Fatalf("SetPlan = %q, %v", prev, err)
	}
	for name, err := range map[string]error{"seat": svc.CheckSeat(ctx, o.ID), "key": svc.CheckAPIKey(ctx, o.ID), "run": svc.CheckManagedRun(ctx, o.ID)} {
		if err != nil {
			t.Errorf("%s on the open plan: %v", name, err)
		}
	}
	if _, err := svc.SetPlan(ctx, o.ID, "nope", agentscope.ActorOperator, ""); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("SetPlan to an unknown plan: %v", err)
	}
}

// TestServiceOff: with billing off every check passes without reading
// the store, and usage says billing is off.
func TestServiceOff(t *testing.T) {
	svc := billing.NewService(nil, nil, nil) // a nil store: nothing may be read
	ctx := context.Background()
	if svc.CheckSeat(ctx, "o") != nil || svc.CheckAPIKey(ctx, "o") != nil || svc.CheckManagedRun(ctx, "o") != nil {
		t.Error("billing off refused something")
	}
	if u, err := svc.OrgUsage(ctx, "o"); err != nil || u.Enabled {
		t.Errorf("usage with billing off = %+v, %v", u, err)
	}
	if _, err := svc.SetPlan(ctx, "o", "x", "operator", ""); agentscope.ErrorCode(err) != agentscope.EUNAVAILABLE {
		t.Errorf("SetPlan with billing off: %v", err)
	}
}
