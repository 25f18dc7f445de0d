package billing_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// now is the clock of the shared-plans tests: mid-month, so the period's
// start is well before it.
var now = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

// proc is one process on a shared database: its store and its plans.
type proc struct {
	*sqlstore.Store
	shared *billing.Shared
	log    *syncBuffer
	// seeds counts the shared plans' SeedUsage calls.
	seeds *atomic.Int32
}

// seedCounter is the store as the shared plans see it, counting SeedUsage.
type seedCounter struct {
	*sqlstore.Store
	seeds *atomic.Int32
}

func (c seedCounter) SeedUsage(ctx context.Context, period string, start time.Time) (int, error) {
	c.seeds.Add(1)
	return c.Store.SeedUsage(ctx, period, start)
}

// syncBuffer is a log any goroutine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// database opens processes on one database, SQLite or Postgres, each
// wired as cmd/agentscope wires its store: appends count by the shared
// plans. A process is serve (a publisher) unless cmd names another
// command, which only reads the plans.
type database func(t *testing.T, local *billing.Plans, file string, cmd ...string) *proc

func databases(t *testing.T) map[string]func(t *testing.T) database {
	return map[string]func(t *testing.T) database{
		"sqlite": func(t *testing.T) database {
			path := filepath.Join(t.TempDir(), "shared.db")
			return func(t *testing.T, local *billing.Plans, file string, cmd ...string) *proc {
				return openProc(t, local, file, len(cmd) == 0, func(opts sqlstore.Options) (*sqlstore.Store, error) {
					s, err := sqlite.Open(context.Background(), path, opts)
					if err != nil {
						return nil, err
					}
					return s.Store, nil
				})
			}
		},
		"postgres": func(t *testing.T) database {
			url := pgtest.URL(t)
			return func(t *testing.T, local *billing.Plans, file string, cmd ...string) *proc {
				return openProc(t, local, file, len(cmd) == 0, func(opts sqlstore.Options) (*sqlstore.Store, error) {
					s, err := postgres.Open(context.Background(), url, opts)
					if err != nil {
						return nil, err
					}
					return s.Store, nil
				})
			}
		},
	}
}

var procs int

func openProc(t *testing.T, local *billing.Plans, file string, publish bool, open func(sqlstore.Options) (*sqlstore.Store, error)) *proc {
	t.Helper()
	procs++
	log := &syncBuffer{}
	shared := billing.NewShared(billing.SharedOptions{Local: local, File: file, Publish: publish, By: fmt.Sprintf("test process %d", procs),
		Logger: slog.New(slog.NewTextHandler(log, nil)), Now: fixedNow})
	opts := sqlstore.Options{Now: fixedNow, UsageSource: func() sqlstore.UsagePolicy {
		if p := shared.ForCommit(); p != nil {
			return p
		}
		return nil
	}}
	s, err := open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	seeds := &atomic.Int32{}
	if err := shared.Load(context.Background(), seedCounter{s, seeds}); err != nil {
		t.Fatal(err)
	}
	return &proc{Store: s, shared: shared, log: log, seeds: seeds}
}

func mustParse(t *testing.T, doc string) *billing.Plans {
	t.Helper()
	p, err := billing.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// plansOf returns plans whose default plan "p" allows limit events.
func plansOf(t *testing.T, limit int) *billing.Plans {
	return mustParse(t, fmt.Sprintf(`{"default":"p","plans":[{"id":"p","limits":{"events_per_month":%d}},{"id":"big","limits":{"events_per_month":1000000}}]}`, limit))
}

// record stores n events of a new session of org through p, and returns
// how many were kept and the first refusal.
func record(t *testing.T, p *proc, org, session string, n int) (int, error) {
	t.Helper()
	evs := make([]agentscope.Event, n)
	for i := range evs {
		evs[i] = agentscope.Event{EventID: fmt.Sprintf("%s-%d", session, i), Type: agentscope.ToolCalled, Tool: "t", CallID: fmt.Sprint(i), TS: now}
	}
	ctx := context.Background()
	res := p.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: session,
		Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, CreatedAt: now}}})[0]
	if res.Err != nil {
		return 0, res.Err
	}
	res = p.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: session, Events: evs}})[0]
	if res.Err != nil {
		return 0, res.Err
	}
	var first error
	for _, e := range res.Rejected {
		if e != nil && first == nil {
			first = e
		}
	}
	return len(res.Appended()), first
}

func usageOf(t *testing.T, p *proc, org string) int64 {
	t.Helper()
	n, err := p.OrgEventUsage(context.Background(), org, billing.Period(now))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSharedPlans: the plans are a fact of the database, on SQLite and
// Postgres.
func TestSharedPlans(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("SecondProcessEnforcesFirstsLimits", func(t *testing.T) { testSecondProcessEnforces(t, db(t)) })
			t.Run("RepublishChangesOtherProcess", func(t *testing.T) { testRepublish(t, db(t)) })
			t.Run("BillingOffDoesNothing", func(t *testing.T) { testSharedOff(t, db(t)) })
			t.Run("MidMonthCountsStored", func(t *testing.T) { testMidMonth(t, db(t)) })
			t.Run("OffProcessTurnsOn", func(t *testing.T) { testTurnsOn(t, db(t)) })
			t.Run("BuiltinDefersToDatabase", func(t *testing.T) { testBuiltinDefers(t, db(t)) })
			t.Run("OtherCommandsNeverPublish", func(t *testing.T) { testReaderNeverPublishes(t, db(t)) })
		})
	}
}

// testSecondProcessEnforces: a process opened without plans (agentscope
// mcp beside serve) counts and refuses by the plans the first published,
// and says where they came from.
func testSecondProcessEnforces(t *testing.T, open database) {
	a := open(t, plansOf(t, 5), "/etc/plans.json")
	if v := a.shared.Version(); v != 1 || !strings.Contains(a.log.String(), "published to the database") {
		t.Fatalf("first publication: version %d, log %s", v, a.log)
	}
	b := open(t, nil, "")
	if b.shared.Plans() == nil || b.shared.Version() != 1 {
		t.Fatalf("the second process has no plans: version %d", b.shared.Version())
	}
	if l := b.log.String(); !strings.Contains(l, "billing: plans from the database, published by test process") {
		t.Errorf("the second process does not say where its plans come from:\n%s", l)
	}
	kept, err := record(t, b, "org-x", "s1", 10) // SessionStarted-less start: 10 events, 5 allowed
	if kept != 5 || agentscope.ErrorCode(err) != agentscope.EPLANLIMIT {
		t.Fatalf("the process without plans kept %d events (want 5), refusal %v", kept, err)
	}
	if !strings.Contains(err.Error(), "agentscope billing set-plan --org org-x PLAN") || strings.Contains(err.Error(), "Billing page") {
		t.Errorf("a self-hosted refusal points at the Billing page: %v", err)
	}
	// The first process sees the second's count: the limit is one.
	if kept, err := record(t, a, "org-x", "s2", 1); kept != 0 || err == nil {
		t.Errorf("the first process stored %d past the limit the second reached (%v)", kept, err)
	}
	if n := usageOf(t, a, "org-x"); n != 5 {
		t.Errorf("usage = %d, want 5", n)
	}
}

// testRepublish: plans republished by one process (a different file, the
// file winning with a warning naming both versions) apply in another at
// its next refresh, without a restart.
func testRepublish(t *testing.T, open database) {
	a := open(t, plansOf(t, 3), "/etc/plans-a.json")
	b := open(t, nil, "")
	if kept, _ := record(t, b, "org-y", "s1", 5); kept != 3 {
		t.Fatalf("kept %d under a limit of 3", kept)
	}
	c := open(t, plansOf(t, 8), "/etc/plans-c.json")
	if c.shared.Version() != 2 {
		t.Fatalf("republished as version %d, want 2", c.shared.Version())
	}
	if l := c.log.String(); !strings.Contains(l, "differs from the plans in the database (version 1, published by test process") || !strings.Contains(l, "published as version 2") || !strings.Contains(l, "/etc/plans-c.json") {
		t.Errorf("the republishing process does not warn naming both versions:\n%s", l)
	}
	// b still runs with version 1 until it refreshes.
	if kept, _ := record(t, b, "org-y", "s2", 1); kept != 0 {
		t.Fatalf("before refreshing, b kept %d past version 1's limit", kept)
	}
	ctx := context.Background()
	for _, p := range []*proc{a, b} {
		if err := p.shared.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if p.shared.Version() != 2 {
			t.Errorf("after refreshing: version %d, want 2", p.shared.Version())
		}
	}
	if kept, _ := record(t, b, "org-y", "s3", 10); kept != 5 {
		t.Errorf("after the republish b kept %d, want 5 more (8 in all)", kept)
	}
	if l := a.log.String(); !strings.Contains(l, "replace this process's AGENTSCOPE_PLANS_FILE /etc/plans-a.json") {
		t.Errorf("a process whose file is superseded does not warn:\n%s", l)
	}
	// Publishing the same plans again changes nothing.
	d := open(t, plansOf(t, 8), "/etc/plans-c.json")
	if d.shared.Version() != 2 || strings.Contains(d.log.String(), "differs") {
		t.Errorf("the same plans republished: version %d, log %s", d.shared.Version(), d.log)
	}
	// A refresh without a change keeps the plans (the same pointer).
	before := b.shared.Plans()
	if err := b.shared.Refresh(ctx); err != nil || b.shared.Plans() != before {
		t.Errorf("a refresh without a change replaced the plans (%v)", err)
	}
}

// testSharedOff: with no plans anywhere nothing is published, counted or
// refused, and a refresh keeps billing off.
func testSharedOff(t *testing.T, open database) {
	a := open(t, nil, "")
	if a.shared.Plans() != nil || a.log.String() != "" {
		t.Fatalf("billing off: plans %v, log %q", a.shared.Plans(), a.log)
	}
	if kept, err := record(t, a, "org-z", "s1", 50); kept != 50 || err != nil {
		t.Errorf("billing off kept %d of 50 (%v)", kept, err)
	}
	if n := usageOf(t, a, "org-z"); n != 0 {
		t.Errorf("billing off counted %d events", n)
	}
	pub, err := a.PublishedPlans(context.Background())
	if err != nil || pub.Version != 0 {
		t.Errorf("billing off published %+v (%v)", pub, err)
	}
	if err := a.shared.Refresh(context.Background()); err != nil || a.shared.Plans() != nil {
		t.Errorf("a refresh with none published: %v, plans %v", err, a.shared.Plans())
	}
}

// testMidMonth: billing turned on mid-month counts the events the
// organisations stored since the period's start, not from 0, and once.
func testMidMonth(t *testing.T, open database) {
	off := open(t, nil, "")
	if kept, _ := record(t, off, "org-m", "s1", 4); kept != 4 {
		t.Fatal("billing off refused events")
	}
	on := open(t, plansOf(t, 6), "/etc/plans.json")
	if n := usageOf(t, on, "org-m"); n != 4 {
		t.Fatalf("usage after billing turned on = %d, want the 4 stored this month", n)
	}
	if kept, _ := record(t, on, "org-m", "s2", 5); kept != 2 {
		t.Errorf("kept %d after turning on, want 2 (6 less the 4 stored before)", kept)
	}
	// Seeding again (another process turning on) counts nothing twice.
	if _, err := on.SeedUsage(context.Background(), billing.Period(now), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if n := usageOf(t, on, "org-m"); n != 6 {
		t.Errorf("usage after seeding again = %d, want 6", n)
	}
}

// testTurnsOn: a process that started before any plans were published
// turns billing on at its next refresh, and the events it stored
// uncounted meanwhile are counted then.
func testTurnsOn(t *testing.T, open database) {
	off := open(t, nil, "")
	idle := open(t, nil, "") // stores nothing while off
	on := open(t, plansOf(t, 10), "/etc/plans.json")
	// Stored by off before it refreshes: uncounted for now.
	if kept, _ := record(t, off, "org-t", "s1", 4); kept != 4 {
		t.Fatal("refused before the refresh")
	}
	if err := off.shared.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if off.shared.Plans() == nil {
		t.Fatal("the refresh did not turn billing on")
	}
	if n := usageOf(t, on, "org-t"); n != 4 {
		t.Errorf("usage after the refresh = %d, want the 4 stored uncounted", n)
	}
	if kept, _ := record(t, off, "org-t", "s2", 10); kept != 6 {
		t.Errorf("kept %d after turning on, want 6", kept)
	}
	if n := off.seeds.Load(); n != 1 {
		t.Errorf("the process that stored events while off counted them %d times, want once", n)
	}
	// A process that stored nothing while off turns on without counting.
	if err := idle.shared.Refresh(context.Background()); err != nil || idle.shared.Plans() == nil {
		t.Fatalf("the idle process did not turn on: %v", err)
	}
	if n := idle.seeds.Load(); n != 0 {
		t.Errorf("a process that stored nothing while off counted the stored events (%d)", n)
	}
}

// testBuiltinDefers: Stripe's built-in plans do not replace plans in the
// database; with none there they are published, and refusals point at
// the Billing page.
func testBuiltinDefers(t *testing.T, open database) {
	stripeBuiltin := func() *billing.Plans {
		p, err := billing.Configure("", true)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := open(t, stripeBuiltin(), "")
	if a.shared.Version() != 1 {
		t.Fatalf("built-in plans with none in the database: version %d, want 1", a.shared.Version())
	}
	hosted := plansOf(t, 2)
	hosted.Stripe = true
	b := open(t, hosted, "/etc/hosted.json")
	c := open(t, stripeBuiltin(), "")
	if c.shared.Version() != 2 || c.shared.Plans().Default != "p" {
		t.Fatalf("the built-in plans replaced the database's: version %d", c.shared.Version())
	}
	_, err := record(t, c, "org-s", "s1", 3)
	if err == nil || !strings.Contains(err.Error(), "Billing page") || strings.Contains(err.Error(), "set-plan") {
		t.Errorf("a hosted refusal: %v; want the Billing page", err)
	}
	_ = b
}

// testReaderNeverPublishes: a command other than serve and worker (export,
// orgs, billing, mcp…) run with a plans file that differs from the
// database's runs with the database's, warns, and changes nothing (found
// trying it as a new user: a shell with an old environment file
// republished every organisation's limits); with none in the database it
// runs with its own file's without publishing them.
func testReaderNeverPublishes(t *testing.T, open database) {
	lone := open(t, plansOf(t, 4), "/home/op/old-plans.json", "export")
	if lone.shared.Plans() == nil || lone.shared.Version() != 0 || !strings.Contains(lone.log.String(), "for this process only") {
		t.Fatalf("a reader with a file and an empty database: version %d, log %s", lone.shared.Version(), lone.log)
	}
	if kept, _ := record(t, lone, "org-r", "s0", 6); kept != 4 {
		t.Errorf("the reader's own plans kept %d of 6, want 4", kept)
	}
	if pub, err := lone.PublishedPlans(context.Background()); err != nil || pub.Version != 0 {
		t.Fatalf("a reader published %+v (%v)", pub, err)
	}
	serve := open(t, plansOf(t, 10), "/etc/plans.json")
	if serve.shared.Version() != 1 {
		t.Fatalf("serve published version %d, want 1", serve.shared.Version())
	}
	cli := open(t, plansOf(t, 2), "/home/op/old-plans.json", "orgs")
	if cli.shared.Version() != 1 || !strings.Contains(cli.log.String(), "runs with the database's and changes nothing") {
		t.Fatalf("a reader with a different file: version %d, log %s", cli.shared.Version(), cli.log)
	}
	if pub, err := cli.PublishedPlans(context.Background()); err != nil || pub.Version != 1 || !strings.Contains(pub.PublishedBy, "test process") {
		t.Fatalf("the database's plans after a reader: %+v (%v)", pub, err)
	}
	// The reader counts by the database's limit (10 less the 4 stored).
	if kept, _ := record(t, cli, "org-r", "s1", 10); kept != 6 {
		t.Errorf("the reader kept %d, want 6 under the database's limit of 10", kept)
	}
}

// TestMarshalRoundTrip: what is published parses back to the same plans.
func TestMarshalRoundTrip(t *testing.T) {
	for _, p := range []*billing.Plans{billing.Builtin(), mustParse(t, limitsPlans), mustParse(t, `{"default":"a","overage_percent":10,"plans":[{"id":"a","overage_percent":0}]}`)} {
		doc, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := billing.Parse(doc)
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		again, _ := back.Marshal()
		if !bytes.Equal(doc, again) {
			t.Errorf("round trip changed the plans:\n%s\n%s", doc, again)
		}
	}
}
