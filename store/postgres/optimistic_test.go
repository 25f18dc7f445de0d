package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// The append path inserts optimistically and relies on the unique index
// on event ids to fail the transaction when one is already stored; the
// store recognises that failure by its SQLSTATE and index, and nothing else
// as a repeated event.
func TestRepeatedEventIsRecognised(t *testing.T) {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	insert := func(seq int64, id string) error {
		_, err := s.Pool().Exec(ctx, `INSERT INTO events (org_id, session_id, seq, event_id, type, agent, ts, body) VALUES ('o', 's', $1, $2, 'ToolCalled', 'a', 0, '{}')`, seq, id)
		return err
	}
	if err := insert(1, "e1"); err != nil {
		t.Fatal(err)
	}
	if err := insert(2, "e1"); err == nil || !postgres.Dialect.IsRepeatedEvent(err) {
		t.Fatalf("a stored event id again: %v, want the repeated-event error", err)
	}
	if err := insert(1, "e2"); err == nil || postgres.Dialect.IsRepeatedEvent(err) {
		t.Fatalf("a stored seq again: %v, want another unique violation, not a repeated event", err)
	}
	if _, err := s.Pool().Exec(ctx, `SELECT 1/0`); postgres.Dialect.IsRepeatedEvent(err) {
		t.Fatalf("another database error taken for a repeated event: %v", err)
	}
}

// A group commit in which one request repeats a stored event id falls back
// to the lookup path: every request gets the answer it would have had
// alone, seqs have no gaps, and the outbox holds exactly the new events
// (nothing of the optimistic attempt survives its rollback).
func TestOptimisticAppendFallsBack(t *testing.T) {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	for _, id := range []string{"a", "b"} {
		res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: id, Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning}}})
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	ev := func(id string) agentscope.Event {
		return agentscope.Event{EventID: id, Type: agentscope.ToolCalled, TS: t0, Tool: "search", CallID: id}
	}
	first := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "a", Events: []agentscope.Event{ev("x1")}}})
	if first[0].Err != nil || first[0].Events[0].Seq != 1 || first[0].Duplicate[0] {
		t.Fatalf("first: %+v", first[0])
	}
	res := s.Append(ctx, []agentscope.AppendRequest{
		{OrgID: "o", SessionID: "b", Events: []agentscope.Event{ev("y1"), ev("y2")}},
		{OrgID: "o", SessionID: "a", Events: []agentscope.Event{ev("x1"), ev("x2")}}, // x1 is a retry
		{OrgID: "o", SessionID: "a", Events: []agentscope.Event{ev("x3")}},
	})
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("request %d: %v", i, r.Err)
		}
	}
	if res[0].Events[0].Seq != 1 || res[0].Events[1].Seq != 2 || res[0].Duplicate[0] || res[0].Duplicate[1] {
		t.Errorf("session b: %+v", res[0])
	}
	if !res[1].Duplicate[0] || res[1].Events[0].Seq != 1 || res[1].Duplicate[1] || res[1].Events[1].Seq != 2 {
		t.Errorf("session a retry: duplicate %v seqs %d %d", res[1].Duplicate, res[1].Events[0].Seq, res[1].Events[1].Seq)
	}
	if res[2].Duplicate[0] || res[2].Events[0].Seq != 3 {
		t.Errorf("session a after the retry: %+v", res[2])
	}
	for sess, want := range map[string]int64{"a": 3, "b": 2} {
		run, err := s.GetRun(ctx, "o", sess)
		if err != nil || run.EventCount != want {
			t.Errorf("run %s: %d events (%v), want %d", sess, run.EventCount, err, want)
		}
		evs, err := s.ListEvents(ctx, "o", sess, agentscope.EventFilter{})
		if err != nil || int64(len(evs)) != want {
			t.Errorf("session %s: %d stored events (%v), want %d", sess, len(evs), err, want)
		}
	}
	var outbox int
	if err := s.Pool().QueryRow(ctx, `SELECT sum(COALESCE(seq_end, seq) - seq + 1) FROM outbox`).Scan(&outbox); err != nil || outbox != 5 {
		t.Errorf("outbox rows cover %d events (%v), want 5: each new event once", outbox, err)
	}
	// A repeat with another body is still refused, naming the id.
	changed := ev("x2")
	changed.Tool = "other"
	if r := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "a", Events: []agentscope.Event{changed}}}); agentscope.ErrorCode(r[0].Err) != agentscope.ECONFLICT {
		t.Errorf("changed body under a stored id: %v, want a conflict", r[0].Err)
	}
}

// planSpy is a Pipe that, in each BEGIN batch, asks the transaction's
// plan_cache_mode after its BEGIN and SET, before the rest: a batch whose
// runs are cached holds its writes too, which may fail the transaction.
type planSpy struct {
	sqlstore.Pipe
	modes *[]string
}

func (p planSpy) Send(ctx context.Context, stmts []sqlstore.Stmt) error {
	if len(stmts) > 0 && stmts[0].SQL == "BEGIN" {
		at := 1
		if len(stmts) > 1 && strings.HasPrefix(stmts[1].SQL, "SET LOCAL") {
			at = 2
		}
		stmts = slices.Insert(slices.Clone(stmts), at, sqlstore.Stmt{SQL: "SHOW plan_cache_mode", Rows: func(rows sqlstore.Rows) error {
			for rows.Next() {
				var m string
				if err := rows.Scan(&m); err != nil {
					return err
				}
				*p.modes = append(*p.modes, m)
			}
			return nil
		}})
	}
	return p.Pipe.Send(ctx, stmts)
}

// A group commit's optimistic attempt runs with generic plans (see
// genericPlans); its second attempt, which looks up stored event ids,
// and every other query keep custom plans: the setting is local to the
// attempt's transaction.
func TestOptimisticAppendUsesGenericPlansOnly(t *testing.T) {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var modes []string
	s.SetPipe(func(ctx context.Context) (sqlstore.Pipe, error) {
		p, err := s.OpenPipe(ctx)
		return planSpy{p, &modes}, err
	})
	ctx := context.Background()
	ev := func(id string) agentscope.Event {
		return agentscope.Event{EventID: id, Type: agentscope.ToolCalled, Tool: "t", CallID: "c", TS: time.Unix(1700000000, 0)}
	}
	if r := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "s",
		Start: &agentscope.Run{Agent: "a", Status: agentscope.StatusRunning}, Events: []agentscope.Event{ev("e1")}}}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if want := []string{"force_generic_plan"}; !slices.Equal(modes, want) {
		t.Fatalf("a new event: plan_cache_mode in each attempt %q, want %q", modes, want)
	}
	modes = nil
	// A retry of a stored event: the optimistic attempt fails, the second
	// looks the ids up.
	if r := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "s", Events: []agentscope.Event{ev("e1")}}}); r[0].Err != nil || !r[0].Duplicate[0] {
		t.Fatalf("retry: %+v", r[0])
	}
	if want := []string{"force_generic_plan", "force_custom_plan"}; !slices.Equal(modes, want) {
		t.Fatalf("a retry: plan_cache_mode in each attempt %q, want %q", modes, want)
	}
	conns := make([]*pgxpool.Conn, 0, 4)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range 4 {
		c, err := s.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mode string
		if err := c.QueryRow(ctx, `SHOW plan_cache_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "force_custom_plan" {
			t.Errorf("plan_cache_mode outside appends is %q, want force_custom_plan", mode)
		}
	}
}
