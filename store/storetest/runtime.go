package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// RuntimeOpener prepares a fresh database for one test and returns a
// function that opens a separate handle on it (its own connections, as
// another process would).
type RuntimeOpener func(t *testing.T) func() *sqlstore.Store

// RunRuntime runs the suite of the runtime's tables: budgets, spend,
// admission under concurrency, managed runs and their attempt fence.
func RunRuntime(t *testing.T, open RuntimeOpener) {
	tests := map[string]func(*testing.T, func() *sqlstore.Store){
		"Budgets":             testBudgets,
		"AgentSpend":          testAgentSpend,
		"AgentSpendSaturates": testAgentSpendSaturates,
		"CreateAgent":         testCreateAgent,
		"ManagedRunAttempts":  testManagedRunAttempts,
		"UnfinishedRuns":      testUnfinishedRuns,
		"ConcurrentAdmission": testConcurrentAdmission,
		"SessionLock":         testSessionLock,
		"Reports":             testReports,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

func testBudgets(t *testing.T, connect func() *sqlstore.Store) {
	s := connect()
	ctx := context.Background()
	for _, b := range []agentscope.AgentCostBudget{
		{OrgID: org, Agent: "bot", Period: agentscope.PeriodDay, LimitUSD: *usd("1.5"), HardCap: true},
		{OrgID: org, Agent: "bot", Period: agentscope.PeriodMonth, LimitUSD: *usd("20")},
		{OrgID: org, Agent: "alpha", Period: agentscope.PeriodWeek, LimitUSD: *usd("3")},
		{OrgID: "org-b", Agent: "bot", Period: agentscope.PeriodDay, LimitUSD: *usd("9")},
	} {
		if _, err := s.PutBudget(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing keeps one budget per agent and period.
	if _, err := s.PutBudget(ctx, agentscope.AgentCostBudget{OrgID: org, Agent: "bot", Period: agentscope.PeriodDay, LimitUSD: *usd("2.25"), HardCap: true}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListBudgets(ctx, org, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range all {
		got = append(got, fmt.Sprintf("%s/%s/%s/%v", b.Agent, b.Period, b.LimitUSD, b.HardCap))
	}
	if want := "[alpha/week/3/false bot/day/2.25/true bot/month/20/false]"; fmt.Sprint(got) != want {
		t.Errorf("budgets %v, want %s", got, want)
	}
	bot, err := s.ListBudgets(ctx, org, "bot")
	if err != nil || len(bot) != 2 {
		t.Fatalf("bot budgets %v, %v", bot, err)
	}
	if _, err := s.PutBudget(ctx, agentscope.AgentCostBudget{OrgID: org, Agent: "bot", Period: "year", LimitUSD: 1}); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("bad period: %v", err)
	}
	if err := s.DeleteBudget(ctx, org, "bot", agentscope.PeriodMonth); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBudget(ctx, org, "bot", agentscope.PeriodMonth); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("second delete: %v", err)
	}
}

// costRun creates a run of agent at created with one CostRecorded event.
func costRun(t *testing.T, s agentscope.Store, orgID, sid, agent string, created time.Time, amount string) {
	t.Helper()
	start(t, s, orgID, sid, agent, created)
	appendEvents(t, s, orgID, sid, agentscope.Event{Type: agentscope.CostRecorded, TS: created, AmountUSD: usd(amount)})
}

func testAgentSpend(t *testing.T, connect func() *sqlstore.Store) {
	s := connect()
	ctx := context.Background()
	day := agentscope.PeriodDay.Start(t0)
	costRun(t, s, org, "old", "bot", day.Add(-time.Second), "5")
	costRun(t, s, org, "a", "bot", day, "0.1")
	costRun(t, s, org, "b", "bot", day.Add(time.Hour), "0.000000001")
	costRun(t, s, org, "other", "alpha", day, "7")
	costRun(t, s, "org-b", "c", "bot", day, "11")
	got, err := s.AgentSpend(ctx, org, "bot", day)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != "0.100000001" {
		t.Errorf("spend %s, want 0.100000001", got)
	}
	if got, _ := s.AgentSpend(ctx, org, "nobody", day); got != 0 {
		t.Errorf("spend of unknown agent %s", got)
	}
}

// testAgentSpendSaturates: runs whose costs sum past int64 nano-dollars make
// the agent's spend the largest amount, not an error (which would leave the
// budget check unable to stop the agent) and not a wrapped negative.
func testAgentSpendSaturates(t *testing.T, connect func() *sqlstore.Store) {
	s := connect()
	day := agentscope.PeriodDay.Start(t0)
	for _, sid := range []string{"s1", "s2"} {
		start(t, s, org, sid, "spender", day)
		appendEvents(t, s, org, sid, agentscope.Event{Type: agentscope.CostRecorded, TS: day, AmountUSD: usd("5000000000")},
			agentscope.Event{Type: agentscope.CostRecorded, TS: day, AmountUSD: usd("4000000000")})
	}
	got, err := s.AgentSpend(context.Background(), org, "spender", day)
	if err != nil {
		t.Fatalf("spend past int64: %v", err)
	}
	if got != agentscope.USD(math.MaxInt64) {
		t.Errorf("spend %s, want the largest amount %s", got, agentscope.USD(math.MaxInt64))
	}
}

func testCreateAgent(t *testing.T, connect func() *sqlstore.Store) {
	s := connect()
	ctx := context.Background()
	a := agentscope.Agent{OrgID: org, Name: "research", Kind: agentscope.AgentManaged, Spec: []byte(`{"model":"m"}`)}
	if _, err := s.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.Spec = []byte(`{"model":"other"}`)
	if _, err := s.CreateAgent(ctx, a); agentscope.ErrorCode(err) != agentscope.ECONFLICT {
		t.Fatalf("second create: %v", err)
	}
	got, err := s.GetAgent(ctx, org, "research")
	if err != nil || string(got.Spec) != `{"model":"m"}` {
		t.Errorf("agent %+v %v: the second create must not replace the first", got, err)
	}
	// The default organisation exists from the migrations on.
	orgs, err := s.OrgIDs(ctx)
	if err != nil || fmt.Sprint(orgs) != "["+agentscope.DefaultOrgID+" "+org+"]" {
		t.Errorf("orgs %v %v", orgs, err)
	}
}

// queue creates a queued managed run with its managed_runs row in one
// transaction, as the runtime's Launch does.
func queue(t *testing.T, s *sqlstore.Store, orgID, sid, agent string, at time.Time, jobID int64, reserved agentscope.USD) {
	t.Helper()
	res := s.AppendTx(context.Background(), []agentscope.AppendRequest{{
		OrgID: orgID, SessionID: sid,
		Start:  &agentscope.Run{Agent: agent, Status: agentscope.StatusQueued, Managed: true, CreatedAt: at},
		Events: []agentscope.Event{{Type: agentscope.RunQueued, TS: at}},
	}}, func(ctx context.Context, tx *sql.Tx) error {
		return s.InsertManagedRunTx(ctx, tx, agentscope.ManagedRun{OrgID: orgID, SessionID: sid, Agent: agent, JobID: jobID, Reserved: reserved, CreatedAt: at})
	})
	if res[0].Err != nil {
		t.Fatalf("queue %s: %v", sid, res[0].Err)
	}
}

func testManagedRunAttempts(t *testing.T, connect func() *sqlstore.Store) {
	s := connect()
	ctx := context.Background()
	queue(t, s, org, "m1", "bot", t0, 42, *usd("0.5"))
	m, err := s.GetManagedRun(ctx, org, "m1")
	if err != nil || m.JobID != 42 || m.Reserved.String() != "0.5" || m.Agent != "bot" || m.Attempt != 0 {
		t.Fatalf("managed run %+v %v", m, err)
	}
	if _, err := s.GetManagedRun(ctx, "org-b", "m1"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("other org: %v", err)
	}
	lease := t0.Add(time.Minute)
	for _, c := range []struct {
		job     int64
		attempt int
		ok      bool
	}{{42, 1, true}, {42, 1, false}, {42, 3, true}, {42, 2, false}, {7, 4, false}, {42, 4, true}} {
		ok, err := s.ClaimAttempt(ctx, org, "m1", c.job, c.attempt, lease)
		if err != nil || ok != c.ok {
			t.Errorf("claim attempt %d of job %d = %v, %v; want %v", c.attempt, c.job, ok, err, c.ok)
		}
	}
	// Attempt 4 holds the lease; attempt 3 no longer does.
	if ok, err := s.RenewRunLease(ctx, org, "m1", 3, lease); ok || err != nil {
		t.Errorf("attempt 3 renewed the lease of attempt 4: %v %v", ok, err)
	}
	if ok, err := s.RenewRunLease(ctx, org, "m1", 4, t0.Add(2*time.Minute)); !ok || err != nil {
		t.Errorf("attempt 4 could not renew its lease: %v %v", ok, err)
	}
	// Leases lapse only for running runs.
	expired := func(now time.Time) []string {
		t.Helper()
		page, err := s.ExpiredRunLeases(ctx, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page {
			ids = append(ids, m.SessionID)
		}
		return ids
	}
	if got := expired(t0.Add(3 * time.Minute)); len(got) != 0 {
		t.Errorf("a queued run's lease lapsed: %v", got)
	}
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "m1",
		Events: []agentscope.Event{{Type: agentscope.RunStarted, TS: t0}},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusRunning}}}); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if got := expired(t0.Add(2 * time.Minute)); len(got) != 0 {
		t.Errorf("a lease lapsed at its very end: %v", got)
	}
	got := expired(t0.Add(3 * time.Minute))
	if fmt.Sprint(got) != "[m1]" {
		t.Fatalf("expired leases %v, want [m1]", got)
	}
	// One of two nodes racing takes it over; the lapsed attempt can
	// neither renew its lease nor, with the run handed to job 43, can a
	// later attempt of job 42 claim it.
	m, _ = s.GetManagedRun(ctx, org, "m1")
	takeOver := func() bool {
		t.Helper()
		sqlTx, err := s.WriteDB().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sqlTx.Rollback() }()
		ok, err := s.TakeOverRunTx(ctx, sqlTx, m, t0.Add(3*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if err := s.SetRunJobTx(ctx, sqlTx, org, "m1", 43); err != nil {
				t.Fatal(err)
			}
		}
		if err := sqlTx.Commit(); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !takeOver() || takeOver() {
		t.Errorf("taking over twice: want the first to win, the second to lose")
	}
	if ok, _ := s.RenewRunLease(ctx, org, "m1", 4, t0.Add(4*time.Minute)); ok {
		t.Errorf("the lapsed attempt renewed its lease after the takeover")
	}
	if got := expired(t0.Add(time.Hour)); len(got) != 0 {
		t.Errorf("a run taken over (no lease until its new job claims it) is expired: %v", got)
	}
	if ok, _ := s.ClaimAttempt(ctx, org, "m1", 42, 5, lease); ok {
		t.Errorf("the old job claimed the run taken over")
	}
	if ok, _ := s.ClaimAttempt(ctx, org, "m1", 43, 5, lease); !ok {
		t.Errorf("the new job could not claim the run")
	}
	if m, _ := s.GetManagedRun(ctx, org, "m1"); m.JobID != 43 || m.Attempt != 5 {
		t.Errorf("after the takeover %+v", m)
	}
}

func testUnfinishedRuns(t *testing.T, connect func() *sqlstore.Store) {
	s := connect()
	ctx := context.Background()
	for i := range 5 {
		queue(t, s, org, fmt.Sprintf("u%d", i), "bot", t0.Add(time.Duration(i%3)*time.Second), int64(i), 0)
	}
	// u4 ends; it is no longer unfinished.
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "u4",
		Events: []agentscope.Event{{Type: agentscope.SessionCompleted, TS: t0, Status: "failed"}},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusFailed}}}); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	var got []string
	var after agentscope.ManagedRun
	for {
		page, err := s.UnfinishedManagedRuns(ctx, t0.Add(time.Hour), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			got = append(got, m.SessionID)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	if fmt.Sprint(got) != "[u0 u3 u1 u2]" {
		t.Errorf("unfinished %v, want [u0 u3 u1 u2]", got)
	}
	page, err := s.UnfinishedManagedRuns(ctx, t0.Add(time.Second), agentscope.ManagedRun{}, 10)
	if err != nil || len(page) != 2 {
		t.Errorf("created before t0+1s: %d runs, %v", len(page), err)
	}
}

// testConcurrentAdmission races admissions of one agent from several
// handles: each reserves 0.1 against a hard cap of 1, so exactly ten are
// admitted whatever the interleaving, because admissions of one agent are
// serialised and each sees the reservations of those before it.
func testConcurrentAdmission(t *testing.T, connect func() *sqlstore.Store) {
	const handles, perHandle = 4, 8
	stores := make([]*sqlstore.Store, handles)
	for i := range stores {
		stores[i] = connect()
	}
	limit, each := *usd("1"), *usd("0.1")
	since := agentscope.PeriodDay.Start(time.Now())
	errRefused := errors.New("refused")
	var (
		mu       sync.Mutex
		admitted int
		wg       sync.WaitGroup
	)
	for h := range handles {
		for j := range perHandle {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := stores[h]
				sid := fmt.Sprintf("adm-%d-%d", h, j)
				res := s.AppendTx(context.Background(), []agentscope.AppendRequest{{
					OrgID: org, SessionID: sid,
					Start:  &agentscope.Run{Agent: "bot", Status: agentscope.StatusQueued, Managed: true},
					Events: []agentscope.Event{{Type: agentscope.RunQueued}},
				}}, func(ctx context.Context, tx *sql.Tx) error {
					if err := s.LockAgentTx(ctx, tx, org, "bot"); err != nil {
						return err
					}
					u, err := s.AgentUsageTx(ctx, tx, org, "bot", since, sid)
					if err != nil {
						return err
					}
					if u.Spent+u.Reserved >= limit {
						return errRefused
					}
					return s.InsertManagedRunTx(ctx, tx, agentscope.ManagedRun{OrgID: org, SessionID: sid, Agent: "bot", JobID: 1, Reserved: each})
				})
				switch err := res[0].Err; {
				case err == nil:
					mu.Lock()
					admitted++
					mu.Unlock()
				case errors.Is(err, errRefused):
				default:
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if admitted != 10 {
		t.Errorf("admitted %d runs against a cap of 10 runs' reservations", admitted)
	}
}

func testSessionLock(t *testing.T, connect func() *sqlstore.Store) {
	a, b := connect(), connect()
	var mu sync.Mutex
	inside, maxInside := 0, 0
	var wg sync.WaitGroup
	for _, s := range []*sqlstore.Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.WithSessionLock(context.Background(), "test-lock", func() error {
				mu.Lock()
				inside++
				maxInside = max(maxInside, inside)
				mu.Unlock()
				// Give a racing holder the chance to enter if the lock
				// did not exclude it.
				_, err := s.AgentSpend(context.Background(), org, "bot", t0)
				mu.Lock()
				inside--
				mu.Unlock()
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if s := a.Dialect().Name; s == "postgres" && maxInside != 1 {
		t.Errorf("%d holders inside the session lock at once", maxInside)
	}
}
