package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// tripCounter is a Pipe that counts its round trips (Sends).
type tripCounter struct {
	sqlstore.Pipe
	n *atomic.Int64
}

func (p tripCounter) Send(ctx context.Context, stmts []sqlstore.Stmt) error {
	p.n.Add(1)
	return p.Pipe.Send(ctx, stmts)
}

// countTrips opens the store at url with its pipe's round trips counted.
func countTrips(t *testing.T, url string) (*postgres.Store, *atomic.Int64) {
	s, err := postgres.Open(context.Background(), url, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	n := new(atomic.Int64)
	s.SetPipe(func(ctx context.Context) (sqlstore.Pipe, error) {
		p, err := s.OpenPipe(ctx)
		return tripCounter{p, n}, err
	})
	return s, n
}

// TestCachedRunsTakeOneRoundTrip: an append to a run this process's last
// commit left as it is takes one round trip; the run's version, as the
// commit read it, is the row's.
func TestCachedRunsTakeOneRoundTrip(t *testing.T) {
	s, trips := countTrips(t, pgtest.URL(t))
	ctx := context.Background()
	ev := func(id string) agentscope.Event {
		return agentscope.Event{EventID: id, Type: agentscope.ToolCalled, Tool: "t", CallID: id, TS: time.Unix(1700000000, 0)}
	}
	// The start's times are to the nanosecond (stored to the microsecond),
	// and its memory is the caller's, which the caller changes after.
	started := time.Now()
	meta, input := map[string]string{"k": "v"}, []byte(`{"q":1}`)
	if r := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "s", Start: &agentscope.Run{Agent: "a", Status: agentscope.StatusRunning, StartedAt: &started,
		Metadata: meta, Input: input},
		Events: []agentscope.Event{{Type: agentscope.SessionStarted, TS: time.Unix(1700000000, 0)}}}}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	started, meta["k"], input[2] = started.Add(time.Hour), "changed", 'Q'
	end := []byte(`"done"`)
	if got := trips.Swap(0); got != 2 {
		t.Errorf("a start took %d round trips, want 2 (read, then write)", got)
	}
	for i := range 3 {
		r := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "s", Events: []agentscope.Event{ev(fmt.Sprint("e", i))}}})
		if r[0].Err != nil || r[0].Events[0].Seq != int64(i+2) || r[0].Run.EventCount != int64(i+2) {
			t.Fatalf("append %d: %+v", i, r[0])
		}
		if got := trips.Swap(0); got != 1 {
			t.Errorf("append %d to a cached run took %d round trips, want 1", i, got)
		}
		// The run answered from the cache is the run stored.
		if stored, err := s.GetRun(ctx, "o", "s"); err != nil || !reflect.DeepEqual(stored, r[0].Run) {
			t.Errorf("append %d answered the run\n%+v\nstored\n%+v (%v)", i, r[0].Run, stored, err)
		}
	}
	// The end, from the cache too; the run as stored is the run answered.
	r := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "s", Events: []agentscope.Event{{Type: agentscope.SessionCompleted, Status: "completed", TS: time.Unix(1700000001, 0)}},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted, Output: end}}})
	if r[0].Err != nil || trips.Swap(0) != 1 {
		t.Fatalf("end: %v", r[0].Err)
	}
	end[1] = 'D'
	// A report linked after the end is taken, and writes the run back.
	if r := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "s", Events: []agentscope.Event{{Type: agentscope.InvestigationReported, TS: time.Unix(1700000002, 0), Attributes: map[string]any{"investigation_session_id": "inv"}}}}}); r[0].Err != nil {
		t.Fatalf("a report linked after the end: %v", r[0].Err)
	}
	stored, err := s.GetRun(ctx, "o", "s")
	if err != nil || stored.EventCount != 6 || stored.Status != agentscope.StatusCompleted || string(stored.Output) != `"done"` || stored.EndedAt == nil ||
		!stored.StartedAt.Equal(started.Add(-time.Hour).Truncate(time.Microsecond)) || stored.Metadata["k"] != "v" || string(stored.Input) != `{"q":1}` {
		t.Fatalf("stored run %+v (%v)", stored, err)
	}
	// An ended session refuses from the cache only after reading the run.
	r = s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "s", Events: []agentscope.Event{ev("late")}}})
	if r[0].Err == nil {
		t.Fatal("an event after the end was accepted")
	}
}

// TestCachedRunChangedElsewhere: a run changed since this process cached
// it — by another process's append, by its end there, by a statement off
// the pipe, by its deletion — is read again, and the append answers as if
// nothing had been cached: seqs follow the stored ones, an ended session
// refuses, a deleted one is not found.
func TestCachedRunChangedElsewhere(t *testing.T) {
	url := pgtest.URL(t)
	a, trips := countTrips(t, url)
	b, _ := countTrips(t, url)
	ctx := context.Background()
	n := 0
	ev := func() agentscope.Event {
		n++
		return agentscope.Event{EventID: fmt.Sprint("e", n), Type: agentscope.ToolCalled, Tool: "t", CallID: "c", TS: time.Unix(1700000000, 0)}
	}
	appendTo := func(s *postgres.Store, session string) agentscope.AppendResult {
		return s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: session, Events: []agentscope.Event{ev()}}})[0]
	}
	for _, session := range []string{"s", "t", "u"} {
		if r := a.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: session, Start: &agentscope.Run{Agent: "a", Status: agentscope.StatusRunning},
			Events: []agentscope.Event{ev()}}}); r[0].Err != nil {
			t.Fatal(r[0].Err)
		}
		if r := appendTo(a, session); r.Err != nil || r.Events[0].Seq != 2 {
			t.Fatalf("%s: %+v", session, r)
		}
	}
	trips.Store(0)

	// Another process appends: this one's cached run is one event behind.
	if r := appendTo(b, "s"); r.Err != nil || r.Events[0].Seq != 3 {
		t.Fatalf("the other process's append: %+v", r)
	}
	if r := appendTo(a, "s"); r.Err != nil || r.Events[0].Seq != 4 || r.Run.EventCount != 4 {
		t.Fatalf("after the other process's append: %+v, want seq 4", r)
	}
	if got := trips.Swap(0); got != 3 {
		t.Errorf("%d round trips, want 3: the cached attempt, then read and write", got)
	}
	evs, err := a.ListEvents(ctx, "o", "s", agentscope.EventFilter{})
	if err != nil || len(evs) != 4 {
		t.Fatalf("%d events (%v), want 4", len(evs), err)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
	}

	// The other process ends the session: this one's append is refused.
	if r := b.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "s", Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted}}}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if r := appendTo(a, "s"); r.Err == nil {
		t.Errorf("an append to a session another process ended was accepted: %+v", r.Run)
	}

	// A statement off the pipe cancels t.
	if _, err := a.Pool().Exec(ctx, `UPDATE runs SET status = 'cancelled', ended_at = 1 WHERE org_id = 'o' AND session_id = 't'`); err != nil {
		t.Fatal(err)
	}
	if r := appendTo(a, "t"); r.Err == nil {
		t.Errorf("an append to a session cancelled off the pipe was accepted: %+v", r.Run)
	}
	if run, err := a.GetRun(ctx, "o", "t"); err != nil || run.Status != agentscope.StatusCancelled || run.EventCount != 2 {
		t.Errorf("t after the refused append: %+v (%v), want cancelled with 2 events", run, err)
	}

	// u is deleted.
	if _, err := a.Pool().Exec(ctx, `DELETE FROM events WHERE org_id = 'o' AND session_id = 'u'; DELETE FROM runs WHERE org_id = 'o' AND session_id = 'u'`); err != nil {
		t.Fatal(err)
	}
	if r := appendTo(a, "u"); agentscope.ErrorCode(r.Err) != agentscope.ENOTFOUND {
		t.Errorf("an append to a deleted session: %v, want not found", r.Err)
	}
}
