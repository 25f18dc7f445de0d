// Package storetest is the conformance suite every agentscope.Store passes.
// store/sqlite and store/postgres run it with their own Open; where the
// databases truly differ a test branches, it is not skipped.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// Opener returns a fresh, empty, migrated store for one test.
type Opener func(t *testing.T) agentscope.Store

// Run runs the whole suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, agentscope.Store){
		"StartAppendReplay":     testStartAppendReplay,
		"IdempotentEventID":     testIdempotentEventID,
		"EndedSessionRejects":   testEndedSessionRejects,
		"ResumeEndedSession":    testResumeEndedSession,
		"UnknownSession":        testUnknownSession,
		"StartTwiceConflicts":   testStartTwiceConflicts,
		"AgentMismatch":         testAgentMismatch,
		"BatchIsolatesFailures": testBatchIsolatesFailures,
		"BatchOfManyRuns":       testBatchOfManyRuns,
		"BigBatch":              testBigBatch,
		"CostSumCannotWrap":     testCostSumCannotWrap,
		"CostIsSumOfAccepted":   testCostIsTheSumOfAccepted,
		"EventIDConflict":       testEventIDConflict,
		"ConcurrentAppends":     testConcurrentAppends,
		"ListRunsPaging":        testListRunsPaging,
		"OrgScoping":            testOrgScoping,
		"Agents":                testAgents,
		"ScanEvents":            testScanEvents,
		"ScanEventsUnordered":   testScanEventsUnordered,
		"ReplayFilters":         testReplayFilters,
		"ReplayBoundedPages":    testReplayBoundedPages,
		"UpdateFrom":            testUpdateFrom,
		"IfLastSeq":             testIfLastSeq,
		"UnpricedCalls":         testUnpricedCalls,
		"UISessions":            func(t *testing.T, s agentscope.Store) { testUISessions(t, s) },
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

const org = "org-a"

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func usd(s string) *agentscope.USD {
	u, err := agentscope.ParseUSD(s)
	if err != nil {
		panic(err)
	}
	return &u
}

// start opens a running run with its SessionStarted event.
func start(t *testing.T, s agentscope.Store, orgID, sessionID, agent string, at time.Time) agentscope.AppendResult {
	t.Helper()
	res := s.Append(context.Background(), []agentscope.AppendRequest{{
		OrgID: orgID, SessionID: sessionID,
		Start:  &agentscope.Run{Agent: agent, Status: agentscope.StatusRunning, CreatedAt: at, StartedAt: &at, Input: json.RawMessage(`"hello"`)},
		Events: []agentscope.Event{{Type: agentscope.SessionStarted, Agent: agent, TS: at, Input: json.RawMessage(`"hello"`)}},
	}})[0]
	if res.Err != nil {
		t.Fatalf("start %s: %v", sessionID, res.Err)
	}
	return res
}

func appendEvents(t *testing.T, s agentscope.Store, orgID, sessionID string, evs ...agentscope.Event) agentscope.AppendResult {
	t.Helper()
	res := s.Append(context.Background(), []agentscope.AppendRequest{{OrgID: orgID, SessionID: sessionID, Events: evs}})[0]
	if res.Err != nil {
		t.Fatalf("append to %s: %v", sessionID, res.Err)
	}
	return res
}

// mixed returns a realistic model turn with a nested tool call.
func mixed(at time.Time) []agentscope.Event {
	return []agentscope.Event{
		{EventID: "e-1", Type: agentscope.ModelInvoked, TS: at, SpanID: "m1", Provider: "openai", Model: "gpt-4.1", Attributes: map[string]any{"temperature": json.Number("0.2")}},
		{EventID: "e-2", Type: agentscope.ToolCalled, TS: at.Add(time.Millisecond), SpanID: "t1", ParentSpanID: "m1", Tool: "search", CallID: "c1", Arguments: json.RawMessage(`{"q":"cost"}`)},
		{EventID: "e-3", Type: agentscope.ToolReturned, TS: at.Add(2 * time.Millisecond), SpanID: "t1", ParentSpanID: "m1", Tool: "search", CallID: "c1", DurationMS: f64(1.5), Status: "ok", Result: json.RawMessage(`[1,2]`)},
		{EventID: "e-4", Type: agentscope.ModelCompleted, TS: at.Add(3 * time.Millisecond), SpanID: "m1", Provider: "openai", Model: "gpt-4.1", DurationMS: f64(812), TokensIn: i64(1200), TokensOut: i64(80), CacheReadTokens: i64(1000), FinishReason: "stop"},
		{EventID: "e-5", Type: agentscope.CostRecorded, TS: at.Add(4 * time.Millisecond), AmountUSD: usd("0.0023"), Currency: "USD", Model: "gpt-4.1"},
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testStartAndReplayCheck(t *testing.T, got []agentscope.Event, want []agentscope.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("replayed %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if g, w := mustJSON(t, got[i]), mustJSON(t, want[i]); g != w {
			t.Errorf("event %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

func testStartAppendReplay(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	st := start(t, s, org, "s1", "bot", t0)
	if st.Run.Status != agentscope.StatusRunning || st.Events[0].Seq != 1 {
		t.Fatalf("start: run %+v, first seq %d", st.Run, st.Events[0].Seq)
	}
	res := appendEvents(t, s, org, "s1", mixed(t0)...)
	for i, ev := range res.Events {
		if ev.Seq != int64(i+2) || ev.Agent != "bot" || ev.SessionID != "s1" {
			t.Fatalf("event %d: seq %d agent %q session %q", i, ev.Seq, ev.Agent, ev.SessionID)
		}
	}
	end := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1",
		Events: []agentscope.Event{{Type: agentscope.SessionCompleted, Status: "completed", TS: t0.Add(time.Second), Output: json.RawMessage(`{"answer":42}`)}},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted, Output: json.RawMessage(`{"answer":42}`)}}})[0]
	if end.Err != nil {
		t.Fatal(end.Err)
	}
	want := append(append(st.Events, res.Events...), end.Events...)
	got, err := s.ListEvents(ctx, org, "s1", agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	testStartAndReplayCheck(t, got, want)
	if got[1].Attributes["temperature"] != json.Number("0.2") {
		t.Errorf("attribute number not kept exactly: %#v", got[1].Attributes["temperature"])
	}
	run, err := s.GetRun(ctx, org, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != agentscope.StatusCompleted || run.EventCount != 7 || run.CostUSD.String() != "0.0023" || run.EndedAt == nil || string(run.Output) != `{"answer":42}` {
		t.Errorf("run after end: %+v", run)
	}
	if string(run.Input) != `"hello"` || run.Agent != "bot" {
		t.Errorf("run input/agent: %s %s", run.Input, run.Agent)
	}
}

func testIdempotentEventID(t *testing.T, s agentscope.Store) {
	start(t, s, org, "s1", "bot", t0)
	ev := agentscope.Event{EventID: "dup", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}
	first := appendEvents(t, s, org, "s1", ev)
	second := appendEvents(t, s, org, "s1", ev, ev)
	if first.Duplicate[0] || !second.Duplicate[0] || !second.Duplicate[1] {
		t.Fatalf("duplicate flags: first %v second %v", first.Duplicate, second.Duplicate)
	}
	if second.Events[0].Seq != first.Events[0].Seq {
		t.Errorf("duplicate answered with seq %d, stored %d", second.Events[0].Seq, first.Events[0].Seq)
	}
	// Within one request, too.
	third := appendEvents(t, s, org, "s1", agentscope.Event{EventID: "x", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}, agentscope.Event{EventID: "x", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"})
	if third.Duplicate[0] || !third.Duplicate[1] || third.Events[1].Seq != third.Events[0].Seq {
		t.Errorf("in-request duplicate: %+v", third)
	}
	evs, err := s.ListEvents(context.Background(), org, "s1", agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("stored %d events, want 3 (started, dup, x)", len(evs))
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Errorf("seq gap: event %d has seq %d", i, e.Seq)
		}
	}
}

func testEndedSessionRejects(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, org, "s1", "bot", t0)
	sent := agentscope.Event{EventID: "before-end", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}
	appendEvents(t, s, org, "s1", sent)
	res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Update: &agentscope.RunUpdate{Status: agentscope.StatusFailed, Error: "boom"}}})[0]
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: []agentscope.Event{{Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}}}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.ECONFLICT {
		t.Fatalf("append after end: err %v, want conflict", res.Err)
	}
	// A retry of an event the session took before it ended (its
	// acknowledgement was lost) is a duplicate, not a refusal...
	res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: []agentscope.Event{sent}}})[0]
	if res.Err != nil || !res.Duplicate[0] || res.Events[0].Seq != 2 {
		t.Fatalf("retry after end: %+v", res)
	}
	// ...but a retry carrying a new event beside it, or an update, or the
	// same id with another body, is refused whole.
	for name, req := range map[string]agentscope.AppendRequest{
		"with a new event": {Events: []agentscope.Event{sent, {EventID: "after-end", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}}},
		"with an update":   {Events: []agentscope.Event{sent}, Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted}},
		"another body":     {Events: []agentscope.Event{{EventID: "before-end", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "other"}}},
	} {
		req.OrgID, req.SessionID = org, "s1"
		if res := s.Append(ctx, []agentscope.AppendRequest{req})[0]; agentscope.ErrorCode(res.Err) != agentscope.ECONFLICT {
			t.Errorf("retry %s after end: err %v, want conflict", name, res.Err)
		}
	}
	evs, _ := s.ListEvents(ctx, org, "s1", agentscope.EventFilter{})
	if len(evs) != 2 {
		t.Errorf("rejected events were stored: %d events, want 2", len(evs))
	}
	run, _ := s.GetRun(ctx, org, "s1")
	if run.Status != agentscope.StatusFailed || run.Error != "boom" {
		t.Errorf("run %+v", run)
	}
}

func testResumeEndedSession(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, org, "s1", "bot", t0)
	early := agentscope.Event{EventID: "early", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}
	appendEvents(t, s, org, "s1", early)
	end := func(sid string, status agentscope.RunStatus) {
		t.Helper()
		res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: sid,
			Events: []agentscope.Event{{Type: agentscope.SessionCompleted, TS: t0, Status: string(status)}},
			Update: &agentscope.RunUpdate{Status: status}}})[0]
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	end("s1", agentscope.StatusCompleted)

	// A retry of what the session holds reopens nothing.
	res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: []agentscope.Event{early}, Resume: true}})[0]
	if res.Err != nil || !res.Duplicate[0] {
		t.Fatalf("resume with a stored event: %+v", res)
	}
	if run, _ := s.GetRun(ctx, org, "s1"); run.Status != agentscope.StatusCompleted || run.EndedAt == nil {
		t.Fatalf("a retry reopened the session: %+v", run)
	}
	// A new event reopens it, after its SessionCompleted.
	late := agentscope.Event{EventID: "late", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}
	res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: []agentscope.Event{early, late}, Resume: true}})[0]
	if res.Err != nil || !res.Duplicate[0] || res.Duplicate[1] || res.Events[1].Seq != 4 || res.Run.Status != agentscope.StatusRunning {
		t.Fatalf("resume with a new event: %+v", res)
	}
	if run, _ := s.GetRun(ctx, org, "s1"); run.Status != agentscope.StatusRunning || run.EndedAt != nil || run.EventCount != 4 {
		t.Fatalf("resumed run: %+v", run)
	}
	// It can end again.
	end("s1", agentscope.StatusCompleted)
	if run, _ := s.GetRun(ctx, org, "s1"); run.Status != agentscope.StatusCompleted || run.EventCount != 5 {
		t.Fatalf("run ended again: %+v", run)
	}

	// A failed session is not reopened, nor is any session without Resume.
	start(t, s, org, "s2", "bot", t0)
	end("s2", agentscope.StatusFailed)
	res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s2", Events: []agentscope.Event{late}, Resume: true}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.ECONFLICT {
		t.Fatalf("resume of a failed session: %v, want conflict", res.Err)
	}
	res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: []agentscope.Event{{EventID: "later", Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}}}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.ECONFLICT {
		t.Fatalf("append without resume to an ended session: %v, want conflict", res.Err)
	}
	// Another organisation's session of the same id is not found.
	res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: "org-other", SessionID: "s1", Events: []agentscope.Event{late}, Resume: true}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.ENOTFOUND {
		t.Fatalf("resume of another organisation's session: %v, want not found", res.Err)
	}
}

func testUnknownSession(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "nope", Events: []agentscope.Event{{Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}}}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.ENOTFOUND {
		t.Errorf("append to unknown session: %v", res.Err)
	}
	if _, err := s.GetRun(ctx, org, "nope"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("get unknown run: %v", err)
	}
	if _, err := s.ListEvents(ctx, org, "nope", agentscope.EventFilter{}); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("replay unknown session: %v", err)
	}
}

func testStartTwiceConflicts(t *testing.T, s agentscope.Store) {
	start(t, s, org, "s1", "bot", t0)
	res := s.Append(context.Background(), []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning}}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.ECONFLICT {
		t.Errorf("second start: %v", res.Err)
	}
}

func testAgentMismatch(t *testing.T, s agentscope.Store) {
	start(t, s, org, "s1", "bot", t0)
	res := s.Append(context.Background(), []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: []agentscope.Event{{Type: agentscope.ModelInvoked, Agent: "other", TS: t0, Provider: "p", Model: "m"}}}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.EINVALID {
		t.Errorf("mismatched agent: %v", res.Err)
	}
}

func testBatchIsolatesFailures(t *testing.T, s agentscope.Store) {
	start(t, s, org, "s1", "bot", t0)
	ev := agentscope.Event{Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}
	res := s.Append(context.Background(), []agentscope.AppendRequest{
		{OrgID: org, SessionID: "s1", Events: []agentscope.Event{ev}},
		{OrgID: org, SessionID: "missing", Events: []agentscope.Event{ev}},
		{OrgID: org, SessionID: "s1", Events: []agentscope.Event{ev}},
	})
	if res[0].Err != nil || res[2].Err != nil || res[1].Err == nil {
		t.Fatalf("errors: %v / %v / %v", res[0].Err, res[1].Err, res[2].Err)
	}
	if res[0].Events[0].Seq != 2 || res[2].Events[0].Seq != 3 {
		t.Errorf("seqs %d, %d; want 2, 3", res[0].Events[0].Seq, res[2].Events[0].Seq)
	}
}

// testBatchOfManyRuns: one group commit that starts a run, records into
// others (cost included), ends one with an output and an error, and
// repeats an event id, leaves every run as if each request had committed
// alone.
func testBatchOfManyRuns(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, org, "m1", "bot", t0)
	start(t, s, org, "m2", "bot", t0)
	start(t, s, org, "m3", "other", t0)
	at := t0.Add(time.Second)
	res := s.Append(ctx, []agentscope.AppendRequest{
		{OrgID: org, SessionID: "m1", Events: mixed(at)},
		{OrgID: org, SessionID: "m2", Events: []agentscope.Event{{EventID: "x", Type: agentscope.CostRecorded, TS: at, AmountUSD: usd("1.25"), Currency: "USD"}}},
		{OrgID: org, SessionID: "new", Start: &agentscope.Run{Agent: "fresh", Status: agentscope.StatusRunning, CreatedAt: at, StartedAt: &at, Metadata: map[string]string{"k": "v"}},
			Events: []agentscope.Event{{Type: agentscope.SessionStarted, TS: at}}},
		{OrgID: org, SessionID: "m3", Events: []agentscope.Event{{Type: agentscope.SessionCompleted, TS: at, Status: "failed", Output: json.RawMessage(`{"a":1}`), Error: "boom"}},
			Update: &agentscope.RunUpdate{Status: agentscope.StatusFailed, Output: json.RawMessage(`{"a":1}`), Error: "boom"}},
		{OrgID: org, SessionID: "m2", Events: []agentscope.Event{{EventID: "x", Type: agentscope.CostRecorded, TS: at, AmountUSD: usd("1.25"), Currency: "USD"}, {EventID: "y", Type: agentscope.CostRecorded, TS: at, AmountUSD: usd("0.5"), Currency: "USD"}}},
		{OrgID: org, SessionID: "new", Events: []agentscope.Event{{Type: agentscope.ModelInvoked, TS: at, Provider: "p", Model: "m"}}},
	})
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("request %d: %v", i, r.Err)
		}
	}
	if !res[4].Duplicate[0] || res[4].Duplicate[1] || res[4].Events[1].Seq != 3 {
		t.Errorf("repeated id: duplicate %v, seqs %d", res[4].Duplicate, res[4].Events[1].Seq)
	}
	want := map[string]struct {
		count  int64
		cost   string
		status agentscope.RunStatus
	}{
		"m1": {6, "0.0023", agentscope.StatusRunning}, "m2": {3, "1.75", agentscope.StatusRunning},
		"m3": {2, "0", agentscope.StatusFailed}, "new": {2, "0", agentscope.StatusRunning},
	}
	for sid, w := range want {
		run, err := s.GetRun(ctx, org, sid)
		if err != nil {
			t.Fatal(err)
		}
		if run.EventCount != w.count || run.CostUSD != *usd(w.cost) || run.Status != w.status {
			t.Errorf("%s: %d events, cost %v, %s; want %d, %s, %s", sid, run.EventCount, run.CostUSD, run.Status, w.count, w.cost, w.status)
		}
		evs, err := s.ListEvents(ctx, org, sid, agentscope.EventFilter{})
		if err != nil || int64(len(evs)) != w.count {
			t.Errorf("%s: %d events stored (%v), want %d", sid, len(evs), err, w.count)
		}
	}
	m3, _ := s.GetRun(ctx, org, "m3")
	if string(m3.Output) != `{"a":1}` || m3.Error != "boom" || m3.EndedAt == nil || m3.StartedAt == nil || !m3.StartedAt.Equal(t0) {
		t.Errorf("ended run: output %s, error %q, started %v, ended %v", m3.Output, m3.Error, m3.StartedAt, m3.EndedAt)
	}
	fresh, _ := s.GetRun(ctx, org, "new")
	if fresh.Agent != "fresh" || fresh.Metadata["k"] != "v" || fresh.StartedAt == nil || fresh.EndedAt != nil || fresh.Error != "" || fresh.Output != nil {
		t.Errorf("new run: %+v", fresh)
	}
}

// testBigBatch: one append of 9 MB of events over two runs (more than a
// store sends in one statement or round trip) stores every event whole, in
// order.
func testBigBatch(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, org, "b1", "bot", t0)
	start(t, s, org, "b2", "bot", t0)
	const perRun, size = 30, 150 << 10
	arg := func(sid string, i int) json.RawMessage {
		head := fmt.Sprintf(`{"run":%q,"i":%d,"pad":"`, sid, i)
		return json.RawMessage(head + strings.Repeat("x", size-len(head)-2) + `"}`)
	}
	var reqs []agentscope.AppendRequest
	for _, sid := range []string{"b1", "b2"} {
		req := agentscope.AppendRequest{OrgID: org, SessionID: sid}
		for i := range perRun {
			req.Events = append(req.Events, agentscope.Event{EventID: fmt.Sprintf("%s-%d", sid, i), Type: agentscope.ToolCalled, TS: t0, Tool: "t", CallID: fmt.Sprintf("c%d", i), Arguments: arg(sid, i)})
		}
		reqs = append(reqs, req)
	}
	for i, r := range s.Append(ctx, reqs) {
		if r.Err != nil {
			t.Fatalf("request %d: %v", i, r.Err)
		}
	}
	for _, sid := range []string{"b1", "b2"} {
		evs, err := s.ListEvents(ctx, org, sid, agentscope.EventFilter{})
		if err != nil || len(evs) != perRun+1 {
			t.Fatalf("%s: %d events stored (%v), want %d", sid, len(evs), err, perRun+1)
		}
		for i, e := range evs[1:] {
			if e.Seq != int64(i+2) || e.EventID != fmt.Sprintf("%s-%d", sid, i) || string(e.Arguments) != string(arg(sid, i)) {
				t.Fatalf("%s event %d: seq %d id %s, %d bytes of arguments", sid, i, e.Seq, e.EventID, len(e.Arguments))
			}
		}
		run, err := s.GetRun(ctx, org, sid)
		if err != nil || run.EventCount != perRun+1 {
			t.Fatalf("%s: run %+v %v", sid, run, err)
		}
	}
}

func testConcurrentAppends(t *testing.T, s agentscope.Store) {
	const sessions, writers, perWriter = 8, 16, 25
	for i := range sessions {
		start(t, s, org, fmt.Sprintf("c%d", i), "bot", t0)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perWriter {
				sid := fmt.Sprintf("c%d", (w+j)%sessions)
				ev := agentscope.Event{EventID: fmt.Sprintf("w%d-%d", w, j), Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"}
				// Every event is sent twice: the retry must be absorbed.
				for range 2 {
					if res := s.Append(context.Background(), []agentscope.AppendRequest{{OrgID: org, SessionID: sid, Events: []agentscope.Event{ev}}})[0]; res.Err != nil {
						errs <- res.Err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for i := range sessions {
		evs, err := s.ListEvents(context.Background(), org, fmt.Sprintf("c%d", i), agentscope.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for k, ev := range evs {
			if ev.Seq != int64(k+1) {
				t.Fatalf("session c%d: event %d has seq %d (gap or reorder)", i, k, ev.Seq)
			}
			if ids[ev.EventID] {
				t.Fatalf("session c%d: event %s stored twice", i, ev.EventID)
			}
			ids[ev.EventID] = true
		}
		total += len(evs) - 1
	}
	if total != writers*perWriter {
		t.Errorf("stored %d events, want %d", total, writers*perWriter)
	}
}

func testListRunsPaging(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	for i := range 7 {
		agent := "a"
		if i%2 == 1 {
			agent = "b"
		}
		start(t, s, org, fmt.Sprintf("r%d", i), agent, t0.Add(time.Duration(i)*time.Minute))
	}
	var seen []string
	cursor := ""
	for {
		page, err := s.ListRuns(ctx, org, agentscope.RunFilter{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Runs {
			seen = append(seen, r.SessionID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if got := fmt.Sprint(seen); got != "[r6 r5 r4 r3 r2 r1 r0]" {
		t.Errorf("paged listing %s", got)
	}
	page, err := s.ListRuns(ctx, org, agentscope.RunFilter{Agent: "b"})
	if err != nil || len(page.Runs) != 3 {
		t.Errorf("agent filter: %d runs, %v", len(page.Runs), err)
	}
	page, err = s.ListRuns(ctx, org, agentscope.RunFilter{Since: t0.Add(5 * time.Minute), Status: agentscope.StatusRunning})
	if err != nil || len(page.Runs) != 2 {
		t.Errorf("since filter: %d runs, %v", len(page.Runs), err)
	}
	if _, err := s.ListRuns(ctx, org, agentscope.RunFilter{Cursor: "%%%"}); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("bad cursor: %v", err)
	}
}

func testOrgScoping(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, "org-a", "shared", "bot", t0)
	start(t, s, "org-b", "shared", "bot", t0)
	appendEvents(t, s, "org-a", "shared", mixed(t0)...)
	a, _ := s.ListEvents(ctx, "org-a", "shared", agentscope.EventFilter{})
	b, _ := s.ListEvents(ctx, "org-b", "shared", agentscope.EventFilter{})
	if len(a) != 6 || len(b) != 1 {
		t.Errorf("org-a sees %d events, org-b %d; want 6 and 1", len(a), len(b))
	}
	if _, err := s.GetRun(ctx, "org-c", "shared"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("org-c reads org-a's run: %v", err)
	}
	n := 0
	if err := s.ScanEvents(ctx, "org-b", agentscope.EventQuery{}, func(evs []agentscope.Event) (bool, error) { n += len(evs); return true, nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("org-b scan saw %d events", n)
	}
}

func testAgents(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, org, "s1", "first-use", t0)
	a, err := s.GetAgent(ctx, org, "first-use")
	if err != nil || a.Kind != agentscope.AgentExternal {
		t.Fatalf("agent registered on first use: %+v %v", a, err)
	}
	if err := s.PutAgent(ctx, agentscope.Agent{OrgID: org, Name: "managed-one", Kind: agentscope.AgentManaged, Spec: json.RawMessage(`{"model":"m"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAgent(ctx, agentscope.Agent{OrgID: org, Name: "managed-one", Kind: agentscope.AgentManaged, Spec: json.RawMessage(`{"model":"n"}`)}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAgents(ctx, org)
	if err != nil || len(list) != 2 || list[1].Name != "managed-one" || string(list[1].Spec) != `{"model":"n"}` {
		t.Errorf("agents %+v %v", list, err)
	}
	if _, err := s.GetAgent(ctx, "other-org", "managed-one"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("agent visible across orgs: %v", err)
	}
	if err := s.PutAgent(ctx, agentscope.Agent{OrgID: org, Name: "bad name!"}); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("bad agent name: %v", err)
	}
}

func testScanEvents(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	for i := range 3 {
		sid := fmt.Sprintf("s%d", i)
		start(t, s, org, sid, []string{"x", "y", "x"}[i], t0.Add(time.Duration(i)*time.Hour))
		appendEvents(t, s, org, sid, mixed(t0.Add(time.Duration(i)*time.Hour))...)
	}
	count := func(q agentscope.EventQuery) int {
		n, batches := 0, 0
		var last time.Time
		err := s.ScanEvents(ctx, org, q, func(evs []agentscope.Event) (bool, error) {
			batches++
			for _, ev := range evs {
				if ev.TS.Before(last) {
					t.Errorf("scan out of time order")
				}
				last = ev.TS
			}
			n += len(evs)
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(agentscope.EventQuery{BatchSize: 4}); n != 18 {
		t.Errorf("all: %d", n)
	}
	if n := count(agentscope.EventQuery{Agents: []string{"x"}, Types: []agentscope.EventType{agentscope.ModelCompleted}}); n != 2 {
		t.Errorf("agent+type: %d", n)
	}
	if n := count(agentscope.EventQuery{SessionIDs: []string{"s1"}}); n != 6 {
		t.Errorf("session: %d", n)
	}
	if n := count(agentscope.EventQuery{Earliest: t0.Add(time.Hour), Latest: t0.Add(2 * time.Hour)}); n != 6 {
		t.Errorf("time range: %d", n)
	}
	stopped := 0
	_ = s.ScanEvents(ctx, org, agentscope.EventQuery{BatchSize: 5}, func(evs []agentscope.Event) (bool, error) { stopped++; return false, nil })
	if stopped != 1 {
		t.Errorf("scan went on after fn returned false")
	}
}

// testScanEventsUnordered checks that an unordered scan, however the store
// splits and orders it, yields exactly the events of the ordered scan, for
// every kind of filter, and stops and fails as fn says.
func testScanEventsUnordered(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	for i := range 40 {
		sid := fmt.Sprintf("u%03d", (i*17)%40) // sessions not started in key order
		at := t0.Add(time.Duration(i) * time.Minute)
		start(t, s, org, sid, []string{"x", "y", "z"}[i%3], at)
		appendEvents(t, s, org, sid, mixed(at)...)
	}
	for i := range 5 {
		sid := fmt.Sprintf("u%03d", i)
		start(t, s, "org-b", sid, "x", t0)
		appendEvents(t, s, "org-b", sid, mixed(t0)...)
	}
	collect := func(q agentscope.EventQuery) []string {
		var keys []string
		err := s.ScanEvents(ctx, org, q, func(evs []agentscope.Event) (bool, error) {
			if len(evs) == 0 || len(evs) > q.BatchSize {
				t.Errorf("batch of %d events, batch size %d", len(evs), q.BatchSize)
			}
			for _, ev := range evs {
				keys = append(keys, fmt.Sprintf("%s/%d/%s/%s", ev.SessionID, ev.Seq, ev.EventID, ev.Type))
			}
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(keys)
		return keys
	}
	for name, q := range map[string]agentscope.EventQuery{
		"all":          {},
		"common types": {Types: []agentscope.EventType{agentscope.ModelInvoked, agentscope.ToolCalled}},
		"rare type":    {Types: []agentscope.EventType{agentscope.CostRecorded}},
		"agent":        {Agents: []string{"y"}},
		"sessions":     {SessionIDs: []string{"u003", "u017"}},
		"time range":   {Earliest: t0.Add(10 * time.Minute), Latest: t0.Add(20 * time.Minute)},
	} {
		q.BatchSize = 7
		want := collect(q)
		q.Unordered = true
		got := collect(q)
		if len(want) == 0 || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: unordered scan read %d events, ordered %d\n got %v\nwant %v", name, len(got), len(want), got, want)
		}
	}
	// A projected scan fills the fields asked for (and the key), and may
	// leave the rest zero.
	full := map[string]agentscope.Event{}
	if err := s.ScanEvents(ctx, org, agentscope.EventQuery{}, func(evs []agentscope.Event) (bool, error) {
		for _, ev := range evs {
			full[fmt.Sprintf("%s/%d", ev.SessionID, ev.Seq)] = ev
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := 0
	err := s.ScanEvents(ctx, org, agentscope.EventQuery{Unordered: true, Fields: []string{"model", "duration_ms"}}, func(evs []agentscope.Event) (bool, error) {
		for _, ev := range evs {
			seen++
			want, ok := full[fmt.Sprintf("%s/%d", ev.SessionID, ev.Seq)]
			if !ok || ev.Model != want.Model || (ev.DurationMS == nil) != (want.DurationMS == nil) ||
				(ev.DurationMS != nil && *ev.DurationMS != *want.DurationMS) {
				t.Errorf("projected %s/%d: model %q duration %v, want %+v", ev.SessionID, ev.Seq, ev.Model, ev.DurationMS, want)
			}
		}
		return true, nil
	})
	if err != nil || seen != len(full) {
		t.Errorf("projected scan: %d of %d events, %v", seen, len(full), err)
	}
	calls := 0
	err = s.ScanEvents(ctx, org, agentscope.EventQuery{Unordered: true, BatchSize: 5}, func([]agentscope.Event) (bool, error) {
		calls++
		return false, nil
	})
	if err != nil || calls != 1 {
		t.Errorf("stopping: %d calls, %v", calls, err)
	}
	boom := errors.New("boom")
	err = s.ScanEvents(ctx, org, agentscope.EventQuery{Unordered: true, BatchSize: 5}, func([]agentscope.Event) (bool, error) { return true, boom })
	if !errors.Is(err, boom) {
		t.Errorf("fn's error: %v", err)
	}
	for _, unordered := range []bool{false, true} {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.ScanEvents(cctx, org, agentscope.EventQuery{Unordered: unordered}, func([]agentscope.Event) (bool, error) { return true, nil }); err == nil {
			t.Errorf("a cancelled scan succeeded (unordered %v)", unordered)
		}
		// Cancelled while the scan is under way, with readers waiting to
		// hand over batches: an error, not a short success.
		cctx, cancel = context.WithCancel(ctx)
		batches := 0
		err := s.ScanEvents(cctx, org, agentscope.EventQuery{Unordered: unordered, BatchSize: 3}, func([]agentscope.Event) (bool, error) {
			if batches++; batches == 2 {
				cancel()
			}
			return true, nil
		})
		cancel()
		if err == nil {
			t.Errorf("a scan cancelled midway succeeded after %d batches (unordered %v)", batches, unordered)
		}
	}
}

func testReplayFilters(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, org, "s1", "bot", t0)
	appendEvents(t, s, org, "s1", mixed(t0)...)
	page, err := s.ListEvents(ctx, org, "s1", agentscope.EventFilter{AfterSeq: 2, Limit: 2})
	if err != nil || len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Fatalf("page after 2: %+v %v", page, err)
	}
	typed, err := s.ListEvents(ctx, org, "s1", agentscope.EventFilter{Types: []agentscope.EventType{agentscope.ToolCalled, agentscope.ToolReturned}})
	if err != nil || len(typed) != 2 || typed[0].Type != agentscope.ToolCalled {
		t.Fatalf("types: %+v %v", typed, err)
	}
	// Bodies: the same events, undecoded, byte for byte their canonical JSON.
	all, err := s.ListEvents(ctx, org, "s1", agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := s.ListEventBodies(ctx, org, "s1", agentscope.EventFilter{})
	if err != nil || len(bodies) != len(all) {
		t.Fatalf("bodies: %d of %d, %v", len(bodies), len(all), err)
	}
	for i := range all {
		want, _ := all[i].MarshalCanonical()
		if bodies[i].Seq != all[i].Seq || string(bodies[i].Body) != string(want) {
			t.Fatalf("body %d: seq %d %s, want %d %s", i, bodies[i].Seq, bodies[i].Body, all[i].Seq, want)
		}
	}
	if b, err := s.ListEventBodies(ctx, org, "s1", agentscope.EventFilter{AfterSeq: 2, Limit: 2, Types: []agentscope.EventType{agentscope.ToolCalled}}); err != nil || len(b) != 1 {
		t.Fatalf("filtered bodies: %d %v", len(b), err)
	}
	if _, err := s.ListEventBodies(ctx, "org-b", "s1", agentscope.EventFilter{}); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Fatalf("another organisation's bodies: %v", err)
	}
	if _, err := s.ListEvents(ctx, "org-b", "s1", agentscope.EventFilter{}); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Fatalf("another organisation's events: %v", err)
	}
	// Past the last event: an empty page of a session that exists.
	last := all[len(all)-1].Seq
	if b, err := s.ListEventBodies(ctx, org, "s1", agentscope.EventFilter{AfterSeq: last}); err != nil || len(b) != 0 {
		t.Fatalf("bodies after the last event: %d, %v", len(b), err)
	}
	if evs, err := s.ListEvents(ctx, org, "s1", agentscope.EventFilter{AfterSeq: last}); err != nil || len(evs) != 0 {
		t.Fatalf("events after the last event: %d, %v", len(evs), err)
	}
	// MaxBytes: the page ends with the event that takes it past MaxBytes
	// (each event counted as its body and one byte more).
	for _, cut := range []int{1, 2, 3} {
		before := 0 // bytes of the first cut events
		for _, b := range bodies[:cut] {
			before += len(b.Body) + 1
		}
		for _, c := range []struct {
			max, want int
		}{{before - 1, cut}, {before, cut + 1}} {
			if c.want > len(bodies) {
				continue
			}
			got, err := s.ListEventBodies(ctx, org, "s1", agentscope.EventFilter{MaxBytes: c.max, Limit: 100})
			if err != nil || len(got) != c.want {
				t.Fatalf("MaxBytes %d (the first %d events hold %d): %d events, %v; want %d", c.max, cut, before, len(got), err, c.want)
			}
		}
	}
}

// testReplayBoundedPages pages through a session whose event sizes change
// sharply (runs of small events, then of large ones), by bytes and by
// count, and checks every page against the rule computed from the whole
// session: a page ends at its limit, or with the event that takes it past
// MaxBytes, or at the session's end. A store that reads a byte-bounded
// page in steps, sizing each by the bodies seen so far, must neither skip
// nor repeat an event where a step ends, nor stop early when a step's
// guess was short, nor overrun the limit.
func testReplayBoundedPages(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, org, "bp", "bot", t0)
	var evs []agentscope.Event
	for i := range 1500 {
		pad := 10
		switch {
		case i%500 >= 400: // a run of large events after small ones
			pad = 3000
		case i%500 >= 380:
			pad = 600
		}
		evs = append(evs, agentscope.Event{Type: agentscope.ToolCalled, TS: t0, Tool: "t", CallID: strconv.Itoa(i),
			Arguments: json.RawMessage(`{"p":"` + strings.Repeat("x", pad) + `"}`)})
	}
	for i := 0; i < len(evs); i += 300 {
		appendEvents(t, s, org, "bp", evs[i:i+300]...)
	}
	all, err := s.ListEventBodies(ctx, org, "bp", agentscope.EventFilter{})
	if err != nil || len(all) != len(evs)+1 {
		t.Fatalf("whole session: %d events, %v", len(all), err)
	}
	// want returns the page after the event at index from.
	want := func(from int, f agentscope.EventFilter) []agentscope.StoredEvent {
		var page []agentscope.StoredEvent
		size := 0
		for _, e := range all[from:] {
			if f.Limit > 0 && len(page) == f.Limit {
				break
			}
			page = append(page, e)
			if size += len(e.Body) + 1; size > f.MaxBytes {
				break
			}
		}
		return page
	}
	for _, f := range []agentscope.EventFilter{
		{MaxBytes: 64 << 10, Limit: 1000}, // a replay page
		{MaxBytes: 64 << 10},              // bytes alone
		{MaxBytes: 100 << 10, Limit: 37},  // the limit ends most pages
		{MaxBytes: 64 << 10, Limit: 300},  // the limit ends pages of small events, past a first step
		{MaxBytes: 5000, Limit: 1000},     // a few events a page
		{MaxBytes: 1, Limit: 1000},        // one event a page
	} {
		from, pages := 0, 0
		for from < len(all) {
			page := f
			if from > 0 {
				page.AfterSeq = all[from-1].Seq
			}
			got, err := s.ListEventBodies(ctx, org, "bp", page)
			if err != nil {
				t.Fatal(err)
			}
			w := want(from, f)
			if len(got) != len(w) {
				t.Fatalf("MaxBytes %d Limit %d, page after seq %d: %d events, want %d", f.MaxBytes, f.Limit, page.AfterSeq, len(got), len(w))
			}
			for i := range w {
				if got[i].Seq != w[i].Seq || string(got[i].Body) != string(w[i].Body) {
					t.Fatalf("MaxBytes %d Limit %d, page after seq %d, event %d: seq %d, want %d", f.MaxBytes, f.Limit, page.AfterSeq, i, got[i].Seq, w[i].Seq)
				}
			}
			from += len(got)
			pages++
		}
		if f.MaxBytes == 1 && pages != len(all) {
			t.Fatalf("MaxBytes 1: %d pages for %d events", pages, len(all))
		}
	}
}

func testUpdateFrom(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "q1", Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusQueued, Managed: true}}})[0]
	if res.Err != nil || res.Run.StartedAt != nil {
		t.Fatalf("queued start: %+v %v", res.Run, res.Err)
	}
	res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "q1", Update: &agentscope.RunUpdate{Status: agentscope.StatusRunning, From: []agentscope.RunStatus{agentscope.StatusQueued}}}})[0]
	if res.Err != nil || res.Run.StartedAt == nil {
		t.Fatalf("queued→running: %+v %v", res.Run, res.Err)
	}
	res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "q1", Update: &agentscope.RunUpdate{Status: agentscope.StatusRunning, From: []agentscope.RunStatus{agentscope.StatusQueued}}}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.ECONFLICT {
		t.Fatalf("second claim: %v", res.Err)
	}
}

// testCostSumCannotWrap: two CostRecorded events of 5,000,000,000 USD each
// would wrap a session's int64 nano-dollar cost to about -8.4e9 USD, which is
// under every budget and so would switch the hard cap off. The store refuses
// the request that would overflow, naming amount_usd, and keeps the cost it
// had, whether the two amounts come in one request or two.
func testCostSumCannotWrap(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	big := func(id string) agentscope.Event {
		return agentscope.Event{EventID: id, Type: agentscope.CostRecorded, TS: t0, AmountUSD: usd("5000000000"), Currency: "USD"}
	}
	start(t, s, org, "wrap1", "bot", t0)
	appendEvents(t, s, org, "wrap1", big("a"))
	res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "wrap1", Events: []agentscope.Event{big("b")}}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.EINVALID || !strings.Contains(res.Err.Error(), "amount_usd") {
		t.Fatalf("second 5e9 USD: err %v, want EINVALID naming amount_usd", res.Err)
	}
	if r, err := s.GetRun(ctx, org, "wrap1"); err != nil || r.CostUSD.String() != "5000000000" || r.EventCount != 2 {
		t.Fatalf("after the refused overflow: cost %s events %d (%v), want 5000000000 and 2", r.CostUSD, r.EventCount, err)
	}

	start(t, s, org, "wrap2", "bot", t0)
	res = s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "wrap2", Events: []agentscope.Event{big("a"), big("b")}}})[0]
	if agentscope.ErrorCode(res.Err) != agentscope.EINVALID {
		t.Fatalf("two 5e9 USD in one request: err %v, want EINVALID", res.Err)
	}
	if r, err := s.GetRun(ctx, org, "wrap2"); err != nil || r.CostUSD != 0 || r.EventCount != 1 {
		t.Fatalf("after the refused request: cost %s events %d (%v), want 0 and 1 (nothing of it kept)", r.CostUSD, r.EventCount, err)
	}
}

// testEventIDConflict: the same event_id with a different body is refused
// as a conflict (the second body was dropped without a word), whether the
// first was stored earlier or sent in the same request; a retry of the same
// event, with or without the ts the server filled in, stays a duplicate.
func testEventIDConflict(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	start(t, s, org, "c1", "bot", t0)
	first := appendEvents(t, s, org, "c1", agentscope.Event{EventID: "e", Type: agentscope.ToolCalled, Tool: "search", CallID: "1", Arguments: json.RawMessage(`{"q":"a"}`)})
	retry := appendEvents(t, s, org, "c1", agentscope.Event{EventID: "e", Type: agentscope.ToolCalled, Tool: "search", CallID: "1", Arguments: json.RawMessage(`{"q":"a"}`)})
	if !retry.Duplicate[0] || retry.Events[0].Seq != first.Events[0].Seq {
		t.Fatalf("retry without ts: %+v, want a duplicate of seq %d", retry, first.Events[0].Seq)
	}
	retry = appendEvents(t, s, org, "c1", agentscope.Event{EventID: "e", Type: agentscope.ToolCalled, TS: first.Events[0].TS, Tool: "search", CallID: "1", Arguments: json.RawMessage(`{"q":"a"}`)})
	if !retry.Duplicate[0] {
		t.Fatalf("retry with the stored ts: %+v, want a duplicate", retry)
	}
	for name, evs := range map[string][]agentscope.Event{
		"stored earlier": {{EventID: "e", Type: agentscope.ToolCalled, Tool: "search", CallID: "1", Arguments: json.RawMessage(`{"q":"b"}`)}},
		"same request": {{EventID: "n", Type: agentscope.ModelInvoked, Provider: "p", Model: "m"},
			{EventID: "n", Type: agentscope.ModelInvoked, Provider: "p", Model: "other"}},
	} {
		res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "c1", Events: evs}})[0]
		if agentscope.ErrorCode(res.Err) != agentscope.ECONFLICT || !strings.Contains(res.Err.Error(), "event_id") {
			t.Errorf("%s: err %v, want ECONFLICT naming event_id", name, res.Err)
		}
	}
	evs, err := s.ListEvents(ctx, org, "c1", agentscope.EventFilter{})
	if err != nil || len(evs) != 2 || string(evs[1].Arguments) != `{"q":"a"}` {
		t.Fatalf("stored %d events (%v): the conflicting requests must leave nothing, the first body kept", len(evs), err)
	}
}
