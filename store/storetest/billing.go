package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// testPlans stands in for billing.Plans: "small" allows 5 events a
// period, "big" 1000, "none" is unlimited; "small" is the default.
type testPlans map[string]int64

func (testPlans) Period(t time.Time) string { return t.UTC().Format("2006-01") }
func (testPlans) DefaultPlan() string       { return "small" }
func (p testPlans) EventLimit(plan string) (int64, bool) {
	if plan == "" {
		plan = "small"
	}
	n, ok := p[plan]
	return n, ok
}

var plans = testPlans{"small": 5, "big": 1000}

// RunBilling runs the billing suite: the per-period event count kept in
// the append's transaction, the refusal of events past the plan's limit
// without losing any stored before it, plan changes, and the limit held
// by concurrent writers of several processes.
func RunBilling(t *testing.T, open OutboxOpener) {
	tests := map[string]func(*testing.T, func(sqlstore.Options) *sqlstore.Store){
		"BatchCrossesLimit":      testBatchCrossesLimit,
		"PlanChangeResumes":      testPlanChangeResumes,
		"UsageRestartSafe":       testUsageRestartSafe,
		"BillingOff":             testBillingOff,
		"ConcurrentLimit":        testConcurrentLimit,
		"NewOrgOnDefaultPlan":    testNewOrgOnDefaultPlan,
		"RetentionWholeSessions": testRetentionWholeSessions,
		"PublishPlans":           testPublishPlans,
		"UsageSource":            testUsageSource,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

func usage(t *testing.T, s *sqlstore.Store, orgID string, at time.Time) int64 {
	t.Helper()
	n, err := s.OrgEventUsage(context.Background(), orgID, at.UTC().Format("2006-01"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func models(prefix string, n int) []agentscope.Event {
	evs := make([]agentscope.Event, n)
	for i := range evs {
		evs[i] = agentscope.Event{EventID: fmt.Sprintf("%s-%d", prefix, i), Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}
	}
	return evs
}

// testBatchCrossesLimit: a request whose events cross the limit keeps
// exactly those under it, in order, and answers each of the others with
// EPLANLIMIT; what was stored is untouched and counted once.
func testBatchCrossesLimit(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	clk := newTestClock()
	s := connect(sqlstore.Options{Outbox: true, Now: clk.Now, Usage: plans})
	ctx := context.Background()
	start(t, s, org, "s1", "bot", t0) // SessionStarted counts: 1 of 5
	if n := usage(t, s, org, t0); n != 1 {
		t.Fatalf("usage after start = %d, want 1", n)
	}
	evs := models("e", 6)
	res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: evs}})[0]
	if res.Err != nil {
		t.Fatalf("a batch crossing the limit failed whole: %v", res.Err)
	}
	if len(res.Rejected) != 6 {
		t.Fatalf("Rejected = %v, want one entry per event", res.Rejected)
	}
	for i := range evs {
		kept := i < 4
		if kept != (res.Rejected[i] == nil) {
			t.Errorf("event %d: rejected = %v, want kept %v", i, res.Rejected[i], kept)
		}
		if !kept && agentscope.ErrorCode(res.Rejected[i]) != agentscope.EPLANLIMIT {
			t.Errorf("event %d: code %q, want %q", i, agentscope.ErrorCode(res.Rejected[i]), agentscope.EPLANLIMIT)
		}
		if kept && res.Events[i].Seq != int64(i+2) {
			t.Errorf("event %d: seq %d, want %d", i, res.Events[i].Seq, i+2)
		}
	}
	if got := len(res.Appended()); got != 4 {
		t.Errorf("Appended() = %d events, want 4", got)
	}
	stored, err := s.ListEvents(ctx, org, "s1", agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var storedIDs []string
	for _, ev := range stored {
		storedIDs = append(storedIDs, ev.EventID)
	}
	if want := []string{stored[0].EventID, "e-0", "e-1", "e-2", "e-3"}; !slices.Equal(storedIDs, want) {
		t.Errorf("stored %v, want %v", storedIDs, want)
	}
	if n := usage(t, s, org, t0); n != 5 {
		t.Errorf("usage = %d, want 5", n)
	}
	if run, err := s.GetRun(ctx, org, "s1"); err != nil || run.EventCount != 5 {
		t.Errorf("run = %+v, %v; want 5 events", run, err)
	}
	// At the limit: a retry of a stored event is still a duplicate (it
	// stores nothing); a new event is refused whole, as are a new session
	// and an end.
	retry := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: evs[:1]}})[0]
	if retry.Err != nil || !retry.Duplicate[0] {
		t.Errorf("retry of a stored event at the limit = %+v", retry)
	}
	refused := []agentscope.AppendRequest{
		{OrgID: org, SessionID: "s1", Events: models("late", 1)},
		{OrgID: org, SessionID: "s2", Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning}, Events: []agentscope.Event{{EventID: "st2", Type: agentscope.SessionStarted, TS: t0}}},
		{OrgID: org, SessionID: "s1", Events: []agentscope.Event{{EventID: "end", Type: agentscope.SessionCompleted, TS: t0}}, Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted}},
	}
	for i, r := range s.Append(ctx, refused) {
		if agentscope.ErrorCode(r.Err) != agentscope.EPLANLIMIT {
			t.Errorf("request %d past the limit: err %v, want %s", i, r.Err, agentscope.EPLANLIMIT)
		}
	}
	if n := usage(t, s, org, t0); n != 5 {
		t.Errorf("usage after refusals = %d, want 5", n)
	}
	// AgentScope's own bookkeeping (an alert, a managed run's end) lands
	// past the limit, and counts.
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: models("own", 1), Bookkeeping: true}})[0]; res.Err != nil || res.Rejected != nil {
		t.Errorf("bookkeeping past the limit = %v, rejected %v", res.Err, res.Rejected)
	}
	if n := usage(t, s, org, t0); n != 6 {
		t.Errorf("usage after bookkeeping = %d, want 6", n)
	}
	// Notes about the plan itself (plan-limit alerts, in a session of
	// their own) land past the limit and are not counted.
	uncounted := []agentscope.AppendRequest{{OrgID: org, SessionID: "billing-x", Uncounted: true,
		Start:  &agentscope.Run{Agent: "billing", Status: agentscope.StatusRunning},
		Events: []agentscope.Event{{EventID: "bst", Type: agentscope.SessionStarted, TS: t0}}}}
	if res := s.Append(ctx, uncounted)[0]; res.Err != nil || res.Rejected != nil {
		t.Errorf("uncounted start past the limit = %v, rejected %v", res.Err, res.Rejected)
	}
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "billing-x", Events: models("note", 2), Uncounted: true}})[0]; res.Err != nil || res.Rejected != nil {
		t.Errorf("uncounted events past the limit = %v, rejected %v", res.Err, res.Rejected)
	}
	if n := usage(t, s, org, t0); n != 6 {
		t.Errorf("usage after uncounted events = %d, want 6 still", n)
	}
	// Another organisation has its own count; a new period starts at 0.
	start(t, s, "org-b", "s1", "bot", t0)
	clk.Advance(31 * 24 * time.Hour)
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: models("next", 2)}})[0]; res.Err != nil || res.Rejected != nil {
		t.Fatalf("append in the next period = %v, rejected %v", res.Err, res.Rejected)
	}
	if n := usage(t, s, org, clk.Now()); n != 2 {
		t.Errorf("next period's usage = %d, want 2", n)
	}
	if n := usage(t, s, "org-b", t0); n != 1 {
		t.Errorf("org-b usage = %d, want 1", n)
	}
}

// testPlanChangeResumes: SetOrgPlan moves an organisation to another plan
// with an audit entry, and ingest refused under the old one resumes.
func testPlanChangeResumes(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	clk := newTestClock()
	s := connect(sqlstore.Options{Now: clk.Now, Usage: plans})
	ctx := context.Background()
	o, err := s.CreateOrg(ctx, "Acme", agentscope.ActorOperator)
	if err != nil {
		t.Fatal(err)
	}
	start(t, s, o.ID, "s1", "bot", t0)
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: o.ID, SessionID: "s1", Events: models("a", 10)}})[0]; res.Err != nil || len(res.Appended()) != 4 {
		t.Fatalf("append = %v, %d appended; want 4", res.Err, len(res.Appended()))
	}
	prev, err := s.SetOrgPlan(ctx, o.ID, "big", agentscope.ActorOperator, "upgrade")
	if err != nil || prev != "small" {
		t.Fatalf("SetOrgPlan = %q, %v; want previous small", prev, err)
	}
	if plan, err := s.OrgPlan(ctx, o.ID); err != nil || plan != "big" {
		t.Errorf("OrgPlan = %q, %v", plan, err)
	}
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: o.ID, SessionID: "s1", Events: models("b", 10)}})[0]; res.Err != nil || res.Rejected != nil {
		t.Errorf("append after the upgrade = %v, rejected %v", res.Err, res.Rejected)
	}
	if n := usage(t, s, o.ID, t0); n != 15 {
		t.Errorf("usage = %d, want 15", n)
	}
	page, err := s.ListAudit(ctx, o.ID, agentscope.AuditFilter{})
	if err != nil || len(page.Entries) == 0 || page.Entries[0].Action != agentscope.AuditPlanChanged || page.Entries[0].Actor != agentscope.ActorOperator {
		t.Fatalf("audit = %+v, %v; want billing.plan_changed first", page.Entries, err)
	}
	if d := string(page.Entries[0].Detail); d != `{"from":"small","reason":"upgrade","to":"big"}` {
		t.Errorf("audit detail = %s", d)
	}
	// The same plan again changes nothing; errors name what is wrong.
	if _, err := s.SetOrgPlan(ctx, o.ID, "big", agentscope.ActorOperator, "again"); err != nil {
		t.Error(err)
	}
	if page2, _ := s.ListAudit(ctx, o.ID, agentscope.AuditFilter{}); len(page2.Entries) != len(page.Entries) {
		t.Errorf("setting the same plan wrote an audit entry")
	}
	if _, err := s.SetOrgPlan(ctx, "org-missing", "big", agentscope.ActorOperator, ""); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("SetOrgPlan of a missing org = %v, want not found", err)
	}
	if _, err := s.SetOrgPlan(ctx, o.ID, "", agentscope.ActorOperator, ""); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("SetOrgPlan to no plan = %v, want invalid", err)
	}
}

// testUsageRestartSafe: the count is the database's, so a new store (a
// restart, another process) continues it and holds the limit.
func testUsageRestartSafe(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	clk := newTestClock()
	a := connect(sqlstore.Options{Now: clk.Now, Usage: plans})
	ctx := context.Background()
	start(t, a, org, "s1", "bot", t0)
	appendEvents(t, a, org, "s1", models("a", 3)...)
	a.Close()
	b := connect(sqlstore.Options{Now: clk.Now, Usage: plans})
	if n := usage(t, b, org, t0); n != 4 {
		t.Fatalf("usage after reopening = %d, want 4", n)
	}
	res := b.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: models("b", 3)}})[0]
	if res.Err != nil || len(res.Appended()) != 1 {
		t.Errorf("append after reopening = %v, %d appended; want 1", res.Err, len(res.Appended()))
	}
}

// testBillingOff: without a policy nothing is counted and nothing refused.
func testBillingOff(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s := connect(sqlstore.Options{})
	start(t, s, org, "s1", "bot", t0)
	res := appendEvents(t, s, org, "s1", models("a", 20)...)
	if res.Rejected != nil || len(res.Appended()) != 20 {
		t.Errorf("billing off: rejected %v, %d appended", res.Rejected, len(res.Appended()))
	}
	if n := usage(t, s, org, t0); n != 0 {
		t.Errorf("billing off counted %d events", n)
	}
	if plan, err := s.OrgPlan(context.Background(), org); err != nil || plan != "" {
		t.Errorf("billing off: OrgPlan = %q, %v; want the default, \"\"", plan, err)
	}
}

// testNewOrgOnDefaultPlan: with billing on, a new organisation is stored
// on the default plan.
func testNewOrgOnDefaultPlan(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s := connect(sqlstore.Options{Usage: plans})
	ctx := context.Background()
	o, err := s.CreateOrg(ctx, "New", agentscope.ActorOperator)
	if err != nil {
		t.Fatal(err)
	}
	start(t, s, "org-implicit", "s1", "bot", t0)
	for _, id := range []string{o.ID, "org-implicit"} {
		if plan, err := s.OrgPlan(ctx, id); err != nil || plan != "small" {
			t.Errorf("OrgPlan(%s) = %q, %v; want small", id, plan, err)
		}
	}
}

// testConcurrentLimit: writers in two processes (store handles), many
// goroutines each, append across the limit at once; the organisation
// ends with exactly the limit stored (the count is locked in each
// commit's transaction), and the count matches what is stored.
func testConcurrentLimit(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	policy, clk := testPlans{"small": 57}, newTestClock()
	stores := []*sqlstore.Store{connect(sqlstore.Options{Usage: policy, Now: clk.Now}), connect(sqlstore.Options{Usage: policy, Now: clk.Now})}
	ctx := context.Background()
	const writers, each = 8, 12
	for w := range writers {
		start(t, stores[0], org, fmt.Sprintf("s%d", w), "bot", t0)
	}
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		accepted, refused int
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			for i := range each {
				sid := fmt.Sprintf("s%d", w)
				// Two events a request, so a request can also be cut in two.
				res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: sid, Events: models(fmt.Sprintf("%s-%d", sid, i), 2)}})[0]
				mu.Lock()
				switch {
				case res.Err != nil && agentscope.ErrorCode(res.Err) == agentscope.EPLANLIMIT:
					refused += 2
				case res.Err != nil:
					t.Errorf("append: %v", res.Err)
				default:
					n := len(res.Appended())
					accepted, refused = accepted+n, refused+2-n
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stored := 0
	for w := range writers {
		run, err := stores[1].GetRun(ctx, org, fmt.Sprintf("s%d", w))
		if err != nil {
			t.Fatal(err)
		}
		stored += int(run.EventCount)
	}
	if stored != 57 || accepted+writers != 57 || accepted+refused != writers*each*2 {
		t.Errorf("stored %d (accepted %d + %d starts), refused %d; want exactly 57 stored", stored, accepted, writers, refused)
	}
	if n := usage(t, stores[0], org, t0); n != int64(stored) {
		t.Errorf("usage = %d, stored %d", n, stored)
	}
}

// testRetentionWholeSessions: PruneSessions deletes exactly the sessions
// expired at the cut (created before it and with nothing newer), each
// whole (run, events, outbox entries), records what it deleted in the
// audit log, and leaves every other session, a running managed one and
// another organisation's untouched and complete.
func testRetentionWholeSessions(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	clk := newTestClock()
	s := connect(sqlstore.Options{Outbox: true, Now: clk.Now})
	ctx := context.Background()
	day := 24 * time.Hour
	old := t0.Add(-10 * day)
	session := func(orgID, sid string, created time.Time, managed bool, eventsAt []time.Time, endAt *time.Time) {
		t.Helper()
		evs := []agentscope.Event{{EventID: sid + "-start", Type: agentscope.SessionStarted, TS: created}}
		for i, at := range eventsAt {
			evs = append(evs, agentscope.Event{EventID: fmt.Sprintf("%s-%d", sid, i), Type: agentscope.ModelInvoked, TS: at, Provider: "p", Model: "m"})
		}
		req := agentscope.AppendRequest{OrgID: orgID, SessionID: sid, Events: evs,
			Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, Managed: managed, CreatedAt: created}}
		if endAt != nil {
			req.Update = &agentscope.RunUpdate{Status: agentscope.StatusCompleted, At: endAt}
		}
		if res := s.Append(ctx, []agentscope.AppendRequest{req})[0]; res.Err != nil {
			t.Fatalf("%s: %v", sid, res.Err)
		}
	}
	ended := old.Add(day)
	session(org, "old-ended", old, false, []time.Time{old, old.Add(time.Hour)}, &ended)
	session(org, "old-quiet", old, false, []time.Time{old.Add(2 * day)}, nil)
	session(org, "old-active", old, false, []time.Time{old, t0.Add(-time.Hour)}, nil)
	lateEnd := t0.Add(-day)
	session(org, "old-ended-late", old, false, nil, &lateEnd)
	session(org, "old-managed", old, true, []time.Time{old}, nil)
	session(org, "new", t0.Add(-day), false, []time.Time{t0.Add(-day)}, nil)
	session("org-b", "old-ended", old, false, []time.Time{old}, &ended)

	cut := t0.Add(-7 * day)
	first, err := s.PruneSessions(ctx, org, cut, 1, "system")
	if err != nil || len(first.Sessions) != 1 {
		t.Fatalf("PruneSessions(limit 1) = %+v, %v", first, err)
	}
	rest, err := s.PruneSessions(ctx, org, cut, 100, "system")
	if err != nil {
		t.Fatal(err)
	}
	got := append(first.Sessions, rest.Sessions...)
	slices.Sort(got)
	if want := []string{"old-ended", "old-quiet"}; !slices.Equal(got, want) || first.Events+rest.Events != 5 {
		t.Errorf("pruned %v (%d events); want %v (5 events)", got, first.Events+rest.Events, want)
	}
	for _, sid := range []string{"old-ended", "old-quiet"} {
		if _, err := s.GetRun(ctx, org, sid); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
			t.Errorf("%s after pruning: %v", sid, err)
		}
		if _, err := s.ListEvents(ctx, org, sid, agentscope.EventFilter{}); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
			t.Errorf("%s's events after pruning: %v", sid, err)
		}
	}
	for sid, want := range map[string]int{"old-active": 3, "old-ended-late": 1, "old-managed": 2, "new": 2} {
		evs, err := s.ListEvents(ctx, org, sid, agentscope.EventFilter{})
		if err != nil || len(evs) != want {
			t.Errorf("%s kept %d events, %v; want all %d", sid, len(evs), err, want)
		}
	}
	if evs, err := s.ListEvents(ctx, "org-b", "old-ended", agentscope.EventFilter{}); err != nil || len(evs) != 2 {
		t.Errorf("org-b's session: %d events, %v", len(evs), err)
	}
	var orphans int
	if err := s.ReadDB().QueryRow(`SELECT count(*) FROM outbox WHERE org_id = '` + org + `' AND session_id IN ('old-ended', 'old-quiet')`).Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("outbox entries of pruned sessions: %d, %v", orphans, err)
	}
	page, err := s.ListAudit(ctx, org, agentscope.AuditFilter{})
	if err != nil || len(page.Entries) != 2 || page.Entries[0].Action != agentscope.AuditRetentionPruned {
		t.Fatalf("audit = %+v, %v; want two billing.retention_pruned entries", page.Entries, err)
	}
	if again, err := s.PruneSessions(ctx, org, cut, 100, "system"); err != nil || len(again.Sessions) != 0 {
		t.Errorf("a second pass pruned %+v, %v", again, err)
	}
	if page2, _ := s.ListAudit(ctx, org, agentscope.AuditFilter{}); len(page2.Entries) != 2 {
		t.Errorf("a pass that pruned nothing wrote an audit entry")
	}
}

// testPublishPlans: the plans published to the database go up a version
// with each change, and only then; another handle (process) reads them;
// concurrent publishers each get their own version.
func testPublishPlans(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	clk := newTestClock()
	a := connect(sqlstore.Options{Now: clk.Now})
	b := connect(sqlstore.Options{Now: clk.Now})
	ctx := context.Background()
	if p, err := b.PublishedPlans(ctx); err != nil || p.Version != 0 {
		t.Fatalf("nothing published: %+v, %v", p, err)
	}
	if _, _, err := a.PublishPlans(ctx, nil, false, "a"); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("empty plans: %v, want invalid", err)
	}
	steps := []struct {
		doc     string
		stripe  bool
		version int64
		changed bool
	}{
		{`{"v":1}`, false, 1, true},
		{`{"v":1}`, false, 1, false},
		{`{"v":2}`, false, 2, true},
		{`{"v":2}`, true, 3, true},
	}
	for i, st := range steps {
		clk.Advance(time.Second)
		p, changed, err := a.PublishPlans(ctx, []byte(st.doc), st.stripe, fmt.Sprintf("publisher %d", i))
		if err != nil || p.Version != st.version || changed != st.changed || string(p.Plans) != st.doc || p.Stripe != st.stripe {
			t.Fatalf("step %d: %+v changed %v, %v; want version %d changed %v", i, p, changed, err, st.version, st.changed)
		}
		got, err := b.PublishedPlans(ctx)
		if err != nil || got.Version != st.version || string(got.Plans) != st.doc || got.Stripe != st.stripe {
			t.Fatalf("step %d read by another handle: %+v, %v", i, got, err)
		}
		if st.changed && (got.PublishedBy != fmt.Sprintf("publisher %d", i) || !got.UpdatedAt.Equal(clk.Now().UTC().Truncate(time.Microsecond))) {
			t.Errorf("step %d: published by %q at %v", i, got.PublishedBy, got.UpdatedAt)
		}
	}
	var wg sync.WaitGroup
	versions := make([]int64, 8)
	for i := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*sqlstore.Store{a, b}[i%2]
			p, changed, err := s.PublishPlans(ctx, []byte(fmt.Sprintf(`{"w":%d}`, i)), false, "w")
			if err != nil || !changed {
				t.Errorf("concurrent publisher %d: %v, changed %v", i, err, changed)
			}
			versions[i] = p.Version
		}()
	}
	wg.Wait()
	slices.Sort(versions)
	for i, v := range versions {
		if v != int64(4+i) {
			t.Errorf("concurrent publishers got versions %v, want 4…11", versions)
			break
		}
	}
}

// testUsageSource: a store asks its source for the policy at each commit:
// nil counts nothing, a policy set later counts and limits from then, and
// SeedUsage raises the count to the events stored since the period's
// start, never lowers it.
func testUsageSource(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	clk := newTestClock()
	var (
		mu     sync.Mutex
		policy sqlstore.UsagePolicy
	)
	s := connect(sqlstore.Options{Now: clk.Now, UsageSource: func() sqlstore.UsagePolicy { mu.Lock(); defer mu.Unlock(); return policy }})
	ctx := context.Background()
	start(t, s, org, "s1", "bot", t0)
	appendEvents(t, s, org, "s1", models("a", 2)...)
	if n := usage(t, s, org, t0); n != 0 {
		t.Fatalf("no policy counted %d", n)
	}
	// A session started Uncounted (plan-limit alerts) is left out of
	// the seed, as it was out of the count.
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "billing-x", Uncounted: true,
		Start:  &agentscope.Run{Agent: "billing", Status: agentscope.StatusRunning, CreatedAt: t0},
		Events: []agentscope.Event{{EventID: "bst", Type: agentscope.SessionStarted, TS: t0}, {EventID: "note", Type: agentscope.ModelInvoked, TS: t0}}}})[0]; res.Err != nil {
		t.Fatal(res.Err)
	}
	mu.Lock()
	policy = plans // "small": 5 a period
	mu.Unlock()
	periodStart := time.Date(t0.Year(), t0.Month(), 1, 0, 0, 0, 0, time.UTC)
	if n, err := s.SeedUsage(ctx, t0.Format("2006-01"), periodStart); err != nil || n != 1 {
		t.Fatalf("SeedUsage = %d, %v; want 1 organisation raised", n, err)
	}
	if n := usage(t, s, org, t0); n != 3 {
		t.Fatalf("seeded usage = %d, want the 3 stored (SessionStarted and 2), not the uncounted session's 2", n)
	}
	res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: models("b", 4)}})[0]
	if res.Err != nil || len(res.Appended()) != 2 {
		t.Fatalf("after the policy appeared: %v, %d appended; want 2 (5 less 3)", res.Err, len(res.Appended()))
	}
	// Events before the period's start are not this period's.
	if n, err := s.SeedUsage(ctx, t0.Format("2006-01"), t0.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("SeedUsage from after every event = %d, %v; want none raised", n, err)
	}
	if n := usage(t, s, org, t0); n != 5 {
		t.Errorf("usage after seeding again = %d, want 5 (never lowered)", n)
	}
	if _, err := s.SeedUsage(ctx, "", periodStart); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("SeedUsage without a period: %v", err)
	}
}
