package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// OutboxOpener prepares a fresh, empty database for one test and returns a
// function that opens a store on it with the given options. Each call opens
// a separate handle with its own connections, as another process would, so
// the suite can race claimers that share nothing but the database.
type OutboxOpener func(t *testing.T) func(opts sqlstore.Options) *sqlstore.Store

// RunOutbox runs the outbox suite: the leases, releases and dead letters
// the Splunk forwarder relies on.
func RunOutbox(t *testing.T, open OutboxOpener) {
	tests := map[string]func(*testing.T, func(sqlstore.Options) *sqlstore.Store){
		"ClaimReturnsEvents":      testClaimReturnsEvents,
		"ClaimLimitAndOrder":      testClaimLimitAndOrder,
		"Runs":                    testOutboxRuns,
		"PartialSettle":           testPartialSettle,
		"CompleteMixedRows":       testCompleteMixedRows,
		"LeaseExcludesOthers":     testLeaseExcludesOthers,
		"ExpiredLeaseReclaimable": testExpiredLeaseReclaimable,
		"CompleteByNonOwnerNoop":  testCompleteByNonOwnerNoop,
		"RetryBacksOff":           testRetryBacksOff,
		"DeadLetterAndRetry":      testDeadLetterAndRetry,
		"RetryAllDeadLetters":     testRetryAllDeadLetters,
		"Stats":                   testOutboxStats,
		"MissingEventBody":        testMissingEventBody,
		"OutboxOff":               testOutboxOff,
		"ConcurrentClaimers":      testConcurrentClaimers,
		"AuditEntries":            testOutboxAuditEntries,
		"Redactor":                testRedactor,
		"ClaimAcrossHandles":      testClaimAcrossHandles,
		"ClaimRecreatedSession":   testClaimRecreatedSession,
		"ClaimFromMemory":         testClaimFromMemory,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

// testClock is a store clock the suite moves by hand.
type testClock struct{ us atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.us.Store(t0.UnixMicro())
	return c
}

func (c *testClock) Now() time.Time          { return time.UnixMicro(c.us.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.us.Add(d.Microseconds()) }

// openClocked opens a store with the outbox on and a hand-moved clock.
func openClocked(connect func(sqlstore.Options) *sqlstore.Store) (*sqlstore.Store, *testClock) {
	clk := newTestClock()
	return connect(sqlstore.Options{Outbox: true, Now: clk.Now}), clk
}

// seedEvents starts session sid and appends n model invocations to it,
// returning every stored event (n+1 with SessionStarted).
func seedEvents(t *testing.T, s agentscope.Store, orgID, sid string, n int) []agentscope.Event {
	t.Helper()
	st := start(t, s, orgID, sid, "bot", t0)
	evs := make([]agentscope.Event, n)
	for i := range evs {
		evs[i] = agentscope.Event{EventID: fmt.Sprintf("%s-%d", sid, i), Type: agentscope.ModelInvoked, TS: t0.Add(time.Duration(i) * time.Millisecond), Provider: "p", Model: "m"}
	}
	if n == 0 {
		return st.Events
	}
	return append(st.Events, appendEvents(t, s, orgID, sid, evs...).Events...)
}

func claim(t *testing.T, s *sqlstore.Store, owner string, limit int, lease time.Duration) []agentscope.OutboxEntry {
	t.Helper()
	entries, err := s.ClaimOutbox(context.Background(), owner, limit, lease)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func refs(entries []agentscope.OutboxEntry) []agentscope.OutboxRef {
	out := make([]agentscope.OutboxRef, len(entries))
	for i, e := range entries {
		out[i] = e.Ref()
	}
	return out
}

func seqs(entries []agentscope.OutboxEntry) []int64 {
	out := make([]int64, len(entries))
	for i, e := range entries {
		out[i] = e.Seq
	}
	return out
}

// outboxRows counts the outbox's rows (not its entries).
func outboxRows(t *testing.T, s *sqlstore.Store) int {
	t.Helper()
	var n int
	if err := s.WriteDB().QueryRowContext(context.Background(), `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func stats(t *testing.T, s *sqlstore.Store) agentscope.OutboxStats {
	t.Helper()
	st, err := s.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testClaimReturnsEvents(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, _ := openClocked(connect)
	start(t, s, org, "s1", "bot", t0)
	appendEvents(t, s, org, "s1", mixed(t0)...)
	start(t, s, "org-b", "s2", "helper", t0)
	stored, err := s.ListEvents(context.Background(), org, "s1", agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	entries := claim(t, s, "fwd-1", 100, time.Minute)
	if len(entries) != len(stored)+1 {
		t.Fatalf("claimed %d entries, want %d (both organisations)", len(entries), len(stored)+1)
	}
	for i, want := range stored {
		e := entries[i]
		body, err := want.MarshalCanonical()
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Body) != string(body) {
			t.Errorf("entry %d body:\n got %s\nwant %s", i, e.Body, body)
		}
		if e.OrgID != org || e.SessionID != "s1" || e.Seq != want.Seq || e.EventID != want.EventID ||
			e.Type != string(want.Type) || e.Agent != "bot" || !e.TS.Equal(want.TS) || e.Attempts != 0 {
			t.Errorf("entry %d: %+v, want event %+v", i, e, want)
		}
	}
	if last := entries[len(entries)-1]; last.OrgID != "org-b" || last.Agent != "helper" {
		t.Errorf("last entry: %+v, want org-b's SessionStarted", last)
	}
}

// wantStored checks that entries carry, one for one, the stored events of
// the sessions named, with their canonical bodies.
func wantStored(t *testing.T, s *sqlstore.Store, entries []agentscope.OutboxEntry) {
	t.Helper()
	for i, e := range entries {
		stored, err := s.ListEventBodies(context.Background(), e.OrgID, e.SessionID, agentscope.EventFilter{AfterSeq: e.Seq - 1, Limit: 1})
		if err != nil || len(stored) != 1 || stored[0].Seq != e.Seq {
			t.Fatalf("entry %d (%s/%s seq %d): stored %v %v", i, e.OrgID, e.SessionID, e.Seq, stored, err)
		}
		if string(e.Body) != string(stored[0].Body) {
			t.Errorf("entry %d (%s seq %d) body:\n got %s\nwant %s", i, e.SessionID, e.Seq, e.Body, stored[0].Body)
		}
	}
}

// testClaimAcrossHandles: two handles on one database, as two processes
// are, each commit sessions, interleaved; one claims them all. Every
// entry carries its stored event, in enqueue order, whichever handle
// committed it (a store may hand its own commits to a claim from memory,
// and reads the others'), and an entry released for retry is claimed
// again with the same body.
func testClaimAcrossHandles(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	a, clk := openClocked(connect)
	b := connect(sqlstore.Options{Outbox: true, Now: clk.Now})
	if first := claim(t, a, "fwd", 100, time.Minute); len(first) != 0 { // a claims before it commits
		t.Fatalf("claimed %d entries of an empty outbox", len(first))
	}
	seedEvents(t, a, org, "a1", 3)
	seedEvents(t, b, org, "b1", 2)
	seedEvents(t, a, "org-b", "a2", 4)
	appendEvents(t, b, org, "a1", agentscope.Event{EventID: "late", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"})
	entries := claim(t, a, "fwd", 100, time.Minute)
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s:%d", e.SessionID, e.Seq))
	}
	if want := "a1:1 a1:2 a1:3 a1:4 b1:1 b1:2 b1:3 a2:1 a2:2 a2:3 a2:4 a2:5 a1:5"; strings.Join(got, " ") != want {
		t.Fatalf("claimed %s\nwant    %s", strings.Join(got, " "), want)
	}
	wantStored(t, a, entries)
	// Release two of a's own commits and one of b's for a retry.
	retry := []agentscope.OutboxRef{entries[1].Ref(), entries[8].Ref(), entries[5].Ref()}
	if n, err := a.RetryOutbox(context.Background(), "fwd", retry, clk.Now(), "again"); err != nil || n != 3 {
		t.Fatalf("retry: %d %v", n, err)
	}
	again := claim(t, a, "fwd", 100, time.Minute)
	if len(again) != 3 {
		t.Fatalf("claimed again %d entries, want 3: %v", len(again), seqs(again))
	}
	for _, e := range again {
		if e.Attempts != 1 || e.LastError != "again" {
			t.Errorf("retried entry %s seq %d: attempts %d, last error %q", e.SessionID, e.Seq, e.Attempts, e.LastError)
		}
	}
	wantStored(t, a, again)
}

// testClaimRecreatedSession: a session one handle committed is claimed
// and delivered through another, then deleted with its organisation and
// recorded again under the same ids with other events. The first handle's
// claim of the new rows carries the new events, never the ones it
// committed before under the same session and seqs.
func testClaimRecreatedSession(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	ctx := context.Background()
	a, clk := openClocked(connect)
	b := connect(sqlstore.Options{Outbox: true, Now: clk.Now})
	if first := claim(t, a, "fwd-a", 100, time.Minute); len(first) != 0 { // a claims before it commits
		t.Fatalf("claimed %d entries of an empty outbox", len(first))
	}
	seedEvents(t, a, org, "r", 3)
	first := claim(t, b, "fwd-b", 100, time.Minute)
	if len(first) != 4 {
		t.Fatalf("first claim: %d entries", len(first))
	}
	if n, err := b.CompleteOutbox(ctx, "fwd-b", refs(first)); err != nil || n != 4 {
		t.Fatalf("complete: %d %v", n, err)
	}
	if _, err := b.DeleteOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	st := start(t, b, org, "r", "other-bot", t0)
	evs := make([]agentscope.Event, 3)
	for i := range evs {
		evs[i] = agentscope.Event{EventID: fmt.Sprintf("new-%d", i), Type: agentscope.ToolCalled, TS: t0, Tool: "t", CallID: "c"}
	}
	appendEvents(t, b, org, "r", evs...)
	if st.Events[0].Seq != 1 {
		t.Fatalf("recreated session starts at seq %d", st.Events[0].Seq)
	}
	entries := claim(t, a, "fwd-a", 100, time.Minute)
	if len(entries) != 4 {
		t.Fatalf("claim of the recreated session: %d entries", len(entries))
	}
	wantStored(t, a, entries)
	for _, e := range entries {
		if e.Agent != "other-bot" {
			t.Errorf("seq %d: agent %q, want other-bot's event", e.Seq, e.Agent)
		}
	}
}

// testClaimLimitAndOrder: a claim takes whole rows while the entries
// before each are fewer than its limit, in enqueue order.
func testClaimLimitAndOrder(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, _ := openClocked(connect)
	start(t, s, org, "s1", "bot", t0)
	for i := range 5 { // five appends of three events: rows of 1, 3, 3, 3, 3, 3 entries
		evs := make([]agentscope.Event, 3)
		for j := range evs {
			evs[j] = agentscope.Event{EventID: fmt.Sprintf("e%d-%d", i, j), Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}
		}
		appendEvents(t, s, org, "s1", evs...)
	}
	if n := outboxRows(t, s); n != 6 {
		t.Fatalf("%d outbox rows, want 6: one per append", n)
	}
	first := claim(t, s, "fwd-1", 4, time.Minute)  // rows of 1 and 3: 4 entries
	second := claim(t, s, "fwd-1", 5, time.Minute) // 3 before the second row < 5: 6 entries
	third := claim(t, s, "fwd-1", 100, time.Minute)
	if len(first) != 4 || len(second) != 6 || len(third) != 6 {
		t.Fatalf("claimed %d, %d, %d; want 4, 6, 6", len(first), len(second), len(third))
	}
	for i, e := range slices.Concat(first, second, third) {
		if e.Seq != int64(i+1) || e.Body == nil {
			t.Errorf("entry %d has seq %d (body %q)", i, e.Seq, e.Body)
		}
	}
	if more := claim(t, s, "fwd-1", 100, time.Minute); len(more) != 0 {
		t.Errorf("claimed %d entries from a fully leased outbox", len(more))
	}
	if none := claim(t, s, "fwd-1", 0, time.Minute); len(none) != 0 {
		t.Errorf("limit 0 claimed %d", len(none))
	}
}

// testOutboxRuns: an append is one outbox row per session, at most 512
// events long, and a claim bounded by the limit goes past it by less than
// one row.
func testOutboxRuns(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, _ := openClocked(connect)
	seedEvents(t, s, org, "s1", 1200)
	if n := outboxRows(t, s); n != 4 {
		t.Fatalf("%d outbox rows for SessionStarted and an append of 1200, want 4 (1 + 512 + 512 + 176)", n)
	}
	if st := stats(t, s); st.QueueDepth != 1201 {
		t.Fatalf("queue depth %d, want 1201", st.QueueDepth)
	}
	got := claim(t, s, "fwd-1", 100, time.Minute)
	if len(got) != 513 {
		t.Fatalf("claim of 100 took %d entries, want the first two rows (513)", len(got))
	}
	rest := claim(t, s, "fwd-1", 10000, time.Minute)
	if all := append(seqs(got), seqs(rest)...); len(all) != 1201 || all[0] != 1 || all[1200] != 1201 || !slices.IsSorted(all) {
		t.Fatalf("claimed seqs %d..%d (%d), want 1..1201 in order", all[0], all[len(all)-1], len(all))
	}
}

// testPartialSettle: settling part of a row, in any order, leaves exactly
// the rest leased to its owner; released entries come back under the id
// they were claimed with; a dead letter takes one entry out of the middle.
func testPartialSettle(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	ctx := context.Background()
	s, clk := openClocked(connect)
	seedEvents(t, s, org, "s1", 10) // rows: seq 1, seqs 2..11
	a := claim(t, s, "fwd-a", 100, time.Minute)
	if len(a) != 11 {
		t.Fatalf("claimed %d, want 11", len(a))
	}
	bySeq := func(from, to int64) []agentscope.OutboxRef {
		var out []agentscope.OutboxRef
		for _, e := range a {
			if e.Seq >= from && e.Seq <= to {
				out = append(out, e.Ref())
			}
		}
		return out
	}
	// The tail first, then the head: as two batches of one row acknowledged out of order.
	if n, err := s.CompleteOutbox(ctx, "fwd-a", bySeq(9, 11)); err != nil || n != 3 {
		t.Fatalf("complete 9..11: %d, %v", n, err)
	}
	if n, err := s.CompleteOutbox(ctx, "fwd-a", bySeq(2, 3)); err != nil || n != 2 {
		t.Fatalf("complete 2..3: %d, %v", n, err)
	}
	if moved, err := s.DeadLetterOutbox(ctx, "fwd-a", bySeq(5, 5)[0], "refused"); err != nil || !moved {
		t.Fatalf("dead letter 5: %v, %v", moved, err)
	}
	if n, err := s.RetryOutbox(ctx, "fwd-a", bySeq(6, 7), clk.Now(), "503"); err != nil || n != 2 {
		t.Fatalf("retry 6..7: %d, %v", n, err)
	}
	// Settled entries are gone: completing them again finds nothing.
	if n, err := s.CompleteOutbox(ctx, "fwd-a", bySeq(2, 3)); err != nil || n != 0 {
		t.Fatalf("complete 2..3 again: %d, %v", n, err)
	}
	if st := stats(t, s); st.QueueDepth != 5 || st.DeadLetters != 1 { // 1, 4, 6, 7, 8
		t.Fatalf("stats %+v, want depth 5 and one dead letter", st)
	}
	b := claim(t, s, "fwd-b", 100, time.Minute)
	if !slices.Equal(seqs(b), []int64{6, 7}) || b[0].ID != a[5].ID || b[0].Attempts != 1 || b[0].LastError != "503" || b[0].Body == nil {
		t.Fatalf("fwd-b claimed %+v, want seqs 6 and 7 released under id %d", b, a[5].ID)
	}
	if n, err := s.CompleteOutbox(ctx, "fwd-a", bySeq(6, 7)); err != nil || n != 0 {
		t.Fatalf("fwd-a completed %d entries fwd-b leases (%v)", n, err)
	}
	if n, err := s.CompleteOutbox(ctx, "fwd-a", bySeq(1, 11)); err != nil || n != 3 {
		t.Fatalf("fwd-a completes what it still leases (1, 4, 8): %d, %v", n, err)
	}
	if n, err := s.CompleteOutbox(ctx, "fwd-b", refs(b)); err != nil || n != 2 {
		t.Fatalf("fwd-b completes 6, 7: %d, %v", n, err)
	}
	if st := stats(t, s); st.QueueDepth != 0 || outboxRows(t, s) != 0 {
		t.Fatalf("stats %+v with %d rows, want an empty outbox", st, outboxRows(t, s))
	}
	dls, err := s.ListDeadLetters(ctx, 10)
	if err != nil || len(dls) != 1 || dls[0].Seq != 5 || dls[0].EventID == "" {
		t.Fatalf("dead letters %+v, %v", dls, err)
	}
}

// testCompleteMixedRows: one completion naming whole rows of two sessions
// with the same seqs, part of a third session's row, and a row it named
// in part before, completes exactly the entries named, whichever way the
// store settles each row.
func testCompleteMixedRows(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	ctx := context.Background()
	s, _ := openClocked(connect)
	for _, sid := range []string{"s1", "s2", "s3", "s4"} {
		seedEvents(t, s, org, sid, 4) // rows: seq 1, seqs 2..5
	}
	a := claim(t, s, "fwd-a", 100, time.Minute)
	if len(a) != 20 {
		t.Fatalf("claimed %d, want 20", len(a))
	}
	pick := func(sid string, from, to int64) []agentscope.OutboxRef {
		var out []agentscope.OutboxRef
		for _, e := range a {
			if e.SessionID == sid && e.Seq >= from && e.Seq <= to {
				out = append(out, e.Ref())
			}
		}
		return out
	}
	// s4's second row in part first: 2..3 settled, 4..5 left.
	if n, err := s.CompleteOutbox(ctx, "fwd-a", pick("s4", 2, 3)); err != nil || n != 2 {
		t.Fatalf("complete s4 2..3: %d, %v", n, err)
	}
	var mixed []agentscope.OutboxRef
	mixed = append(mixed, pick("s1", 1, 5)...) // two whole rows
	mixed = append(mixed, pick("s2", 1, 5)...) // the same seqs, another session
	mixed = append(mixed, pick("s3", 2, 3)...) // part of a row
	mixed = append(mixed, pick("s4", 4, 5)...) // the rest of a row settled in part
	mixed = append(mixed, pick("s1", 2, 2)...) // named twice
	if n, err := s.CompleteOutbox(ctx, "fwd-a", mixed); err != nil || n != 14 {
		t.Fatalf("mixed completion: %d, %v; want 14", n, err)
	}
	if st := stats(t, s); st.QueueDepth != 4 { // s3: 1, 4, 5; s4: 1
		t.Fatalf("queue depth %d, want 4", st.QueueDepth)
	}
	if n, err := s.CompleteOutbox(ctx, "fwd-a", mixed); err != nil || n != 0 {
		t.Fatalf("the same completion again: %d, %v; want 0", n, err)
	}
	left := append(append(pick("s3", 1, 1), pick("s3", 4, 5)...), pick("s4", 1, 1)...)
	if n, err := s.CompleteOutbox(ctx, "fwd-b", left); err != nil || n != 0 {
		t.Fatalf("another owner completed %d (%v)", n, err)
	}
	if n, err := s.CompleteOutbox(ctx, "fwd-a", left); err != nil || n != 4 {
		t.Fatalf("complete the rest: %d, %v; want 4", n, err)
	}
	if st := stats(t, s); st.QueueDepth != 0 || outboxRows(t, s) != 0 {
		t.Fatalf("stats %+v with %d rows, want an empty outbox", st, outboxRows(t, s))
	}
}

func testLeaseExcludesOthers(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, clk := openClocked(connect)
	seedEvents(t, s, org, "s1", 4)
	a := claim(t, s, "fwd-a", 100, time.Minute)
	clk.Advance(59 * time.Second)
	if b := claim(t, s, "fwd-b", 100, time.Minute); len(b) != 0 {
		t.Fatalf("fwd-b claimed %d entries fwd-a still leases", len(b))
	}
	n, err := s.CompleteOutbox(context.Background(), "fwd-a", refs(a))
	if err != nil || n != int64(len(a)) {
		t.Fatalf("owner complete: %d, %v; want %d", n, err, len(a))
	}
	if st := stats(t, s); st.QueueDepth != 0 {
		t.Errorf("queue depth %d after complete", st.QueueDepth)
	}
}

func testExpiredLeaseReclaimable(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, clk := openClocked(connect)
	seedEvents(t, s, org, "s1", 2)
	a := claim(t, s, "fwd-a", 100, time.Minute)
	clk.Advance(time.Minute)
	b := claim(t, s, "fwd-b", 100, time.Minute)
	if !slices.Equal(refs(a), refs(b)) {
		t.Fatalf("after expiry fwd-b claimed %v, want %v", refs(b), refs(a))
	}
	// fwd-a, back from a stall, no longer owns them: its completion is
	// ignored and the entries stay with fwd-b.
	if n, err := s.CompleteOutbox(context.Background(), "fwd-a", refs(a)); err != nil || n != 0 {
		t.Fatalf("stale owner completed %d (err %v)", n, err)
	}
	if n, err := s.RetryOutbox(context.Background(), "fwd-a", refs(a), clk.Now(), "stale"); err != nil || n != 0 {
		t.Fatalf("stale owner released %d (err %v)", n, err)
	}
	if moved, err := s.DeadLetterOutbox(context.Background(), "fwd-a", a[0].Ref(), "stale"); err != nil || moved {
		t.Fatalf("stale owner dead-lettered: %v (err %v)", moved, err)
	}
	if n, err := s.CompleteOutbox(context.Background(), "fwd-b", refs(b)); err != nil || n != int64(len(b)) {
		t.Fatalf("new owner completed %d (err %v), want %d", n, err, len(b))
	}
}

func testCompleteByNonOwnerNoop(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, _ := openClocked(connect)
	seedEvents(t, s, org, "s1", 3)
	a := claim(t, s, "fwd-a", 100, time.Minute)
	n, err := s.CompleteOutbox(context.Background(), "fwd-b", refs(a))
	if err != nil || n != 0 {
		t.Fatalf("non-owner complete deleted %d (err %v)", n, err)
	}
	// Entries that were never claimed are not completable either.
	seedEvents(t, s, org, "s2", 0)
	st := stats(t, s)
	if st.QueueDepth != int64(len(a))+1 {
		t.Errorf("queue depth %d, want %d", st.QueueDepth, len(a)+1)
	}
	if n, _ := s.CompleteOutbox(context.Background(), "fwd-a", []agentscope.OutboxRef{{ID: a[len(a)-1].ID + 1, Seq: 1}}); n != 0 {
		t.Errorf("completed an unclaimed entry")
	}
}

func testRetryBacksOff(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, clk := openClocked(connect)
	seedEvents(t, s, org, "s1", 1)
	a := claim(t, s, "fwd-a", 100, time.Minute)
	n, err := s.RetryOutbox(context.Background(), "fwd-a", refs(a), clk.Now().Add(10*time.Second), "503 busy")
	if err != nil || n != int64(len(a)) {
		t.Fatalf("retry released %d (err %v), want %d", n, err, len(a))
	}
	clk.Advance(9 * time.Second)
	if early := claim(t, s, "fwd-b", 100, time.Minute); len(early) != 0 {
		t.Fatalf("claimed %d entries before their retry time", len(early))
	}
	clk.Advance(time.Second)
	again := claim(t, s, "fwd-b", 100, time.Minute)
	if !slices.Equal(refs(a), refs(again)) {
		t.Fatalf("after backoff claimed %v, want %v", refs(again), refs(a))
	}
	for _, e := range again {
		if e.Attempts != 1 || e.LastError != "503 busy" {
			t.Errorf("entry %d: attempts %d last error %q", e.ID, e.Attempts, e.LastError)
		}
	}
}

func testDeadLetterAndRetry(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	ctx := context.Background()
	s, _ := openClocked(connect)
	evs := seedEvents(t, s, org, "s1", 2)
	a := claim(t, s, "fwd-a", 100, time.Minute)
	if moved, err := s.DeadLetterOutbox(ctx, "fwd-b", a[1].Ref(), "not mine"); err != nil || moved {
		t.Fatalf("non-owner dead-lettered: %v, %v", moved, err)
	}
	moved, err := s.DeadLetterOutbox(ctx, "fwd-a", a[1].Ref(), "Invalid data format")
	if err != nil || !moved {
		t.Fatalf("dead letter: %v, %v", moved, err)
	}
	if st := stats(t, s); st.QueueDepth != 2 || st.DeadLetters != 1 {
		t.Fatalf("stats after dead letter: %+v", st)
	}
	dls, err := s.ListDeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || dls[0].Reason != "Invalid data format" || dls[0].EventID != evs[1].EventID ||
		dls[0].Type != string(evs[1].Type) || dls[0].OrgID != org || dls[0].Seq != 2 || !dls[0].CreatedAt.Equal(t0) {
		t.Fatalf("dead letters: %+v", dls)
	}
	n, err := s.RetryDeadLetters(ctx, []int64{dls[0].ID, dls[0].ID + 100})
	if err != nil || n != 1 {
		t.Fatalf("retry dead letters: %d, %v", n, err)
	}
	if st := stats(t, s); st.QueueDepth != 3 || st.DeadLetters != 0 {
		t.Fatalf("stats after re-enqueue: %+v", st)
	}
	again := claim(t, s, "fwd-b", 100, time.Minute)
	if len(again) != 1 || again[0].EventID != evs[1].EventID || again[0].Body == nil {
		t.Fatalf("re-enqueued claim: %+v", again)
	}
}

func testRetryAllDeadLetters(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	ctx := context.Background()
	s, _ := openClocked(connect)
	seedEvents(t, s, org, "s1", 1200)
	a := claim(t, s, "fwd-a", 2000, time.Minute)
	for _, e := range a {
		if moved, err := s.DeadLetterOutbox(ctx, "fwd-a", e.Ref(), "poison"); err != nil || !moved {
			t.Fatalf("dead letter %d: %v %v", e.ID, moved, err)
		}
	}
	n, err := s.RetryAllDeadLetters(ctx)
	if err != nil || n != int64(len(a)) {
		t.Fatalf("retry all: %d, %v; want %d", n, err, len(a))
	}
	if st := stats(t, s); st.QueueDepth != int64(len(a)) || st.DeadLetters != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func testOutboxStats(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, clk := openClocked(connect)
	if st := stats(t, s); st.QueueDepth != 0 || !st.OldestCreated.IsZero() || st.DeadLetters != 0 {
		t.Fatalf("empty stats: %+v", st)
	}
	seedEvents(t, s, org, "s1", 1)
	enqueued := clk.Now()
	clk.Advance(time.Hour)
	seedEvents(t, s, org, "s2", 1)
	check := func(stage string) {
		t.Helper()
		if st := stats(t, s); st.QueueDepth != 4 || !st.OldestCreated.Equal(enqueued) {
			t.Errorf("%s: %+v, want depth 4 oldest %v", stage, st, enqueued)
		}
	}
	check("fresh")
	// Neither a lease nor a release changes when an entry was enqueued.
	a := claim(t, s, "fwd-a", 100, time.Minute)
	check("leased")
	if _, err := s.RetryOutbox(context.Background(), "fwd-a", refs(a), clk.Now().Add(time.Hour), "busy"); err != nil {
		t.Fatal(err)
	}
	check("released")
}

func testMissingEventBody(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, clk := openClocked(connect)
	q := `INSERT INTO outbox (org_id, session_id, seq, next_attempt_at) VALUES (?, ?, ?, ?)`
	if s.Dialect().Numbered {
		q = `INSERT INTO outbox (org_id, session_id, seq, next_attempt_at) VALUES ($1, $2, $3, $4)`
	}
	if _, err := s.WriteDB().ExecContext(context.Background(), q, org, "gone", 1, t0.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	entries := claim(t, s, "fwd-a", 10, time.Minute)
	if len(entries) != 1 || entries[0].Body != nil || entries[0].SessionID != "gone" {
		t.Fatalf("orphan entry: %+v", entries)
	}
	// A row's run with events missing from its middle and its end: each
	// missing one is an entry without a body, the stored ones keep theirs.
	// Another handle commits them, as another process would: the events a
	// store committed itself it may hand to a claim from memory (the hot
	// outbox), and those were whole when committed.
	seedEvents(t, connect(sqlstore.Options{Outbox: true, Now: clk.Now}), org, "s1", 4) // seqs 1..5, rows 1 and 2..5
	if _, err := s.WriteDB().ExecContext(context.Background(), `DELETE FROM events WHERE seq IN (3, 5)`); err != nil {
		t.Fatal(err)
	}
	entries = claim(t, s, "fwd-a", 10, time.Minute)
	if !slices.Equal(seqs(entries), []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("claimed seqs %v, want 1..5", seqs(entries))
	}
	for _, e := range entries {
		if missing := e.Seq == 3 || e.Seq == 5; (e.Body == nil) != missing || e.SessionID != "s1" {
			t.Errorf("entry %d: body %q", e.Seq, e.Body)
		}
	}
}

// testClaimFromMemory: the events a store commits after its first claim
// are handed to the claim of their rows from memory (the hot outbox), as
// stored and without a read of the events table: deleted behind the
// store's back, they are still claimed whole, with their bodies, fields
// and order. A row retried and claimed again is read from the table,
// which now lacks them.
func testClaimFromMemory(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s, clk := openClocked(connect)
	if first := claim(t, s, "fwd", 100, time.Minute); len(first) != 0 { // claims before it commits
		t.Fatalf("claimed %d entries of an empty outbox", len(first))
	}
	stored := seedEvents(t, s, org, "s1", 700) // rows: SessionStarted, then runs of at most 512
	stored = append(stored, seedEvents(t, s, "org-b", "s1", 2)...)
	if _, err := s.WriteDB().ExecContext(context.Background(), `DELETE FROM events`); err != nil {
		t.Fatal(err)
	}
	entries := claim(t, s, "fwd", 1000, time.Minute)
	if len(entries) != len(stored) {
		t.Fatalf("claimed %d entries, want %d", len(entries), len(stored))
	}
	for i, want := range stored {
		e := entries[i]
		body, err := want.MarshalCanonical()
		if err != nil {
			t.Fatal(err)
		}
		wantOrg := org
		if i >= 701 {
			wantOrg = "org-b"
		}
		if string(e.Body) != string(body) || e.OrgID != wantOrg || e.SessionID != "s1" || e.Seq != want.Seq ||
			e.EventID != want.EventID || e.Type != string(want.Type) || e.Agent != "bot" || !e.TS.Equal(want.TS) {
			t.Fatalf("entry %d: %+v (body %s), want event %+v", i, e, e.Body, want)
		}
	}
	if _, err := s.RetryOutbox(context.Background(), "fwd", refs(entries[:1]), clk.Now(), "503 busy"); err != nil {
		t.Fatal(err)
	}
	again := claim(t, s, "fwd", 10, time.Minute)
	if len(again) != 1 || again[0].Seq != 1 || again[0].Body != nil {
		t.Fatalf("a retried row was claimed as %+v; want its one entry read from the table, without a body", again)
	}
}

// testOutboxAuditEntries: an audit log entry is queued for Splunk beside
// events, claimed with its action, time and JSON as the body, and survives
// a dead letter and its retry as an audit entry; with the outbox off none
// is queued.
func testOutboxAuditEntries(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	ctx := context.Background()
	s, _ := openClocked(connect)
	seedEvents(t, s, org, "s1", 1)
	e, err := s.AppendAudit(ctx, agentscope.AuditEntry{OrgID: org, Actor: "key:k1", Action: agentscope.AuditAlertRuleDeleted, Target: "rule-1", Detail: json.RawMessage(`{"name":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	entries := claim(t, s, "fwd-a", 10, time.Minute)
	if len(entries) != 3 {
		t.Fatalf("claimed %d entries, want the 2 events and the audit entry", len(entries))
	}
	a := entries[2]
	if a.AuditID != e.ID || a.OrgID != org || a.SessionID != "" || a.Type != string(agentscope.AuditAlertRuleDeleted) || !a.TS.Equal(e.At) {
		t.Fatalf("audit outbox entry %+v, want %+v", a, e)
	}
	var back agentscope.AuditEntry
	if err := json.Unmarshal(a.Body, &back); err != nil || back.ID != e.ID || back.Actor != "key:k1" || back.Target != "rule-1" || string(back.Detail) != `{"name":"x"}` {
		t.Fatalf("audit body %s (%v)", a.Body, err)
	}
	if entries[0].AuditID != "" || entries[1].AuditID != "" {
		t.Errorf("events claimed as audit entries: %+v", entries[:2])
	}
	if moved, err := s.DeadLetterOutbox(ctx, "fwd-a", a.Ref(), "refused"); err != nil || !moved {
		t.Fatalf("dead letter: %v %v", moved, err)
	}
	dls, err := s.ListDeadLetters(ctx, 10)
	if err != nil || len(dls) != 1 || dls[0].AuditID != e.ID || dls[0].Type != string(agentscope.AuditAlertRuleDeleted) {
		t.Fatalf("dead letters %+v, %v", dls, err)
	}
	if n, err := s.RetryAllDeadLetters(ctx); err != nil || n != 1 {
		t.Fatalf("retry: %d %v", n, err)
	}
	again := claim(t, s, "fwd-b", 10, time.Minute)
	if len(again) != 1 || again[0].AuditID != e.ID || !strings.Contains(string(again[0].Body), e.ID) {
		t.Fatalf("retried audit entry claimed as %+v", again)
	}

	off := connect(sqlstore.Options{})
	before := stats(t, off).QueueDepth
	if _, err := off.AppendAudit(ctx, agentscope.AuditEntry{OrgID: org, Actor: "operator", Action: agentscope.AuditBudgetSet}); err != nil {
		t.Fatal(err)
	}
	if after := stats(t, off).QueueDepth; after != before {
		t.Errorf("outbox off: an audit entry was queued (depth %d, was %d)", after, before)
	}
}

func testOutboxOff(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s := connect(sqlstore.Options{})
	seedEvents(t, s, org, "s1", 3)
	if st := stats(t, s); st.QueueDepth != 0 {
		t.Errorf("outbox off: depth %d", st.QueueDepth)
	}
}

// testConcurrentClaimers races claimers on separate handles (separate
// connection pools, as separate processes have) and several goroutines per
// handle: no entry may be handed out twice while its lease lives.
func testConcurrentClaimers(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	const (
		handles, perHandle = 3, 4
		sessions, events   = 4, 500
		limit              = 13
	)
	ctx := context.Background()
	seeder := connect(sqlstore.Options{Outbox: true})
	for i := range sessions {
		seedEvents(t, seeder, org, fmt.Sprintf("s%d", i), events-1)
	}
	var (
		mu      sync.Mutex
		claimed = map[agentscope.OutboxRef]string{}
		dup     []string
		wg      sync.WaitGroup
		errs    = make(chan error, handles*perHandle)
	)
	for h := range handles {
		s := connect(sqlstore.Options{Outbox: true})
		for g := range perHandle {
			owner := fmt.Sprintf("fwd-%d-%d", h, g)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					entries, err := s.ClaimOutbox(ctx, owner, limit, time.Hour)
					if err != nil {
						errs <- err
						return
					}
					if len(entries) == 0 {
						return
					}
					mu.Lock()
					for _, e := range entries {
						if prev, ok := claimed[e.Ref()]; ok {
							dup = append(dup, fmt.Sprintf("entry %v: %s and %s", e.Ref(), prev, owner))
						}
						claimed[e.Ref()] = owner
					}
					mu.Unlock()
					// Complete half the claims, so claimers also race deletes.
					if e := entries[0]; e.ID%2 == 0 {
						if _, err := s.CompleteOutbox(ctx, owner, refs(entries)); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(dup) > 0 {
		t.Fatalf("%d entries claimed twice, e.g. %s", len(dup), dup[0])
	}
	if len(claimed) != sessions*events {
		t.Fatalf("claimed %d distinct entries, want %d", len(claimed), sessions*events)
	}
}
