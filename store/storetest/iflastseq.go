package storetest

import (
	"context"
	"testing"

	"github.com/agentscope/agentscope"
)

// testIfLastSeq: a request carrying IfLastSeq commits only while the
// session's last seq is the one given. A stale one is refused with
// ECONFLICT and writes nothing (neither its events nor its cost nor its
// status change), also when the event that made it stale is in the same
// group commit, just before it.
func testIfLastSeq(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, org, "s1", "bot", t0) // seq 1
	cost := func(id, amount string) agentscope.Event {
		return agentscope.Event{EventID: id, Type: agentscope.CostRecorded, TS: t0, AmountUSD: usd(amount)}
	}
	end := func(ifLast int64, evs ...agentscope.Event) agentscope.AppendRequest {
		return agentscope.AppendRequest{OrgID: org, SessionID: "s1", IfLastSeq: ifLast,
			Events: append(evs, agentscope.Event{Type: agentscope.SessionCompleted, TS: t0, Status: "completed"}),
			Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted}}
	}
	// The reported cost lands first in the same batch: the end prepared at
	// seq 1 is stale.
	res := s.Append(ctx, []agentscope.AppendRequest{
		{OrgID: org, SessionID: "s1", Events: []agentscope.Event{cost("reported", "0.5")}},
		end(1, cost("computed", "0.25")),
	})
	if res[0].Err != nil {
		t.Fatalf("reported cost: %v", res[0].Err)
	}
	if agentscope.ErrorCode(res[1].Err) != agentscope.ECONFLICT {
		t.Fatalf("stale end: err %v, want conflict", res[1].Err)
	}
	run, err := s.GetRun(ctx, org, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != agentscope.StatusRunning || run.EventCount != 2 || run.CostUSD.String() != "0.5" {
		t.Fatalf("after the stale end: status %s, %d events, cost %s; want running, 2, 0.5", run.Status, run.EventCount, run.CostUSD)
	}
	// Prepared again at the current seq, it commits.
	res = s.Append(ctx, []agentscope.AppendRequest{end(2, cost("computed", "0.25"))})
	if res[0].Err != nil {
		t.Fatalf("end at seq 2: %v", res[0].Err)
	}
	if r := res[0].Run; r.Status != agentscope.StatusCompleted || r.EventCount != 4 || r.CostUSD.String() != "0.75" {
		t.Fatalf("after the end: status %s, %d events, cost %s; want completed, 4, 0.75", r.Status, r.EventCount, r.CostUSD)
	}
	evs, err := s.ListEvents(ctx, org, "s1", agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Errorf("%d events stored, want 4 (the stale request wrote none)", len(evs))
	}
}
