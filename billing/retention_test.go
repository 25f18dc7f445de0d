package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
)

// TestPrunerFollowsEachOrgsPlan: one pass deletes, whole, the sessions
// older than each organisation's plan keeps, and nothing of an
// organisation whose plan keeps sessions for ever.
func TestPrunerFollowsEachOrgsPlan(t *testing.T) {
	plans, err := billing.Parse([]byte(limitsPlans)) // small: 3 days (the default); open: for ever
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, plans)
	ctx := context.Background()
	now := time.Now().UTC()
	old, ended := now.Add(-5*24*time.Hour), now.Add(-4*24*time.Hour)
	for _, org := range []string{"org-small", "org-open"} {
		for sid, created := range map[string]time.Time{"old": old, "new": now.Add(-time.Hour)} {
			res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: sid,
				Start:  &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, CreatedAt: created},
				Events: []agentscope.Event{{EventID: "st", Type: agentscope.SessionStarted, TS: created}},
				Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted, At: &ended}}})[0]
			if sid == "new" {
				res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: sid + "2",
					Start:  &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, CreatedAt: created},
					Events: []agentscope.Event{{EventID: "st", Type: agentscope.SessionStarted, TS: created}}}})[0]
			}
			if res.Err != nil {
				t.Fatal(res.Err)
			}
		}
	}
	if _, err := s.SetOrgPlan(ctx, "org-open", "open", agentscope.ActorOperator, "test"); err != nil {
		t.Fatal(err)
	}
	report, err := billing.NewPruner(plans, s, nil).Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(report) != 1 || len(report["org-small"].Sessions) != 1 || report["org-small"].Sessions[0] != "old" || report["org-small"].Events != 1 {
		t.Fatalf("report = %+v; want org-small's old session alone", report)
	}
	for org, want := range map[string][]string{"org-small": {"new2"}, "org-open": {"old", "new2"}} {
		for _, sid := range want {
			if _, err := s.GetRun(ctx, org, sid); err != nil {
				t.Errorf("%s/%s: %v", org, sid, err)
			}
		}
	}
}
