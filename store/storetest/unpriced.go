package storetest

import (
	"context"
	"math"
	"testing"

	"github.com/agentscope/agentscope"
)

// testUnpricedCalls: a managed run counts the model calls the runtime
// marked cost_unknown as they are appended (a self-reported session's
// agent cannot set the count that way), a RunUpdate adds to the count,
// and the count is read back by GetRun and ListRuns. The first append
// touches two runs in one batch, the second one run, so both of the
// stores' ways of updating runs carry it.
func testUnpricedCalls(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	res := s.Append(ctx, []agentscope.AppendRequest{{
		OrgID: org, SessionID: "m1",
		Start:  &agentscope.Run{Agent: "robot", Status: agentscope.StatusRunning, Managed: true, CreatedAt: t0, StartedAt: &t0},
		Events: []agentscope.Event{{Type: agentscope.SessionStarted, TS: t0}},
	}})[0]
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	start(t, s, org, "s1", "bot", t0)
	unknown := func(id string) agentscope.Event {
		return agentscope.Event{EventID: id, Type: agentscope.ModelCompleted, TS: t0, Provider: "acme", Model: "mystery", TokensIn: i64(10), TokensOut: i64(2),
			Attributes: map[string]any{"cost_unknown": true}}
	}
	priced := agentscope.Event{EventID: "p", Type: agentscope.ModelCompleted, TS: t0, Provider: "openai", Model: "gpt-4.1", TokensIn: i64(10), TokensOut: i64(2)}
	for i, r := range s.Append(ctx, []agentscope.AppendRequest{
		{OrgID: org, SessionID: "m1", Events: []agentscope.Event{unknown("u1"), priced, unknown("u2")}},
		{OrgID: org, SessionID: "s1", Events: []agentscope.Event{unknown("u1")}},
	}) {
		if r.Err != nil {
			t.Fatalf("request %d: %v", i, r.Err)
		}
	}
	// A retry of a counted call is a duplicate and counts nothing.
	appendEvents(t, s, org, "m1", unknown("u2"))
	check := func(session string, want int64) {
		t.Helper()
		run, err := s.GetRun(ctx, org, session)
		if err != nil {
			t.Fatal(err)
		}
		if run.UnpricedCalls != want {
			t.Errorf("%s: GetRun says %d unpriced calls, want %d", session, run.UnpricedCalls, want)
		}
		page, err := s.ListRuns(ctx, org, agentscope.RunFilter{Agent: run.Agent})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Runs {
			if r.SessionID == session && r.UnpricedCalls != want {
				t.Errorf("%s: ListRuns says %d unpriced calls, want %d", session, r.UnpricedCalls, want)
			}
		}
	}
	check("m1", 2)
	check("s1", 0)

	end := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1",
		Events: []agentscope.Event{{Type: agentscope.SessionCompleted, Status: "completed", TS: t0}},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted, UnpricedCalls: 3}}})[0]
	if end.Err != nil {
		t.Fatal(end.Err)
	}
	if end.Run.UnpricedCalls != 3 {
		t.Errorf("the ending append's run has %d unpriced calls, want 3", end.Run.UnpricedCalls)
	}
	check("s1", 3)

	// No count goes below zero or wraps.
	for _, add := range []int64{-1, math.MaxInt64} {
		r := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "m1", Update: &agentscope.RunUpdate{Status: agentscope.StatusRunning, UnpricedCalls: add}}})[0]
		if agentscope.ErrorCode(r.Err) != agentscope.EINVALID {
			t.Errorf("adding %d unpriced calls to 2: %v, want an invalid-input error", add, r.Err)
		}
	}
	check("m1", 2)
}
