package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// wordRedactor stands in for redact.Redactor: it replaces the JSON input,
// arguments and result holding "s3cret", and the run's input, by a
// marker, copying what it changes as the real one does.
type wordRedactor struct{}

const redactedMarker = `"[REDACTED:test]"`

func (wordRedactor) Request(req agentscope.AppendRequest) agentscope.AppendRequest {
	red := func(v json.RawMessage) (json.RawMessage, bool) {
		if strings.Contains(string(v), "s3cret") {
			return json.RawMessage(redactedMarker), true
		}
		return v, false
	}
	evs := make([]agentscope.Event, len(req.Events))
	changed := false
	for i, ev := range req.Events {
		var a, b, c bool
		ev.Input, a = red(ev.Input)
		ev.Arguments, b = red(ev.Arguments)
		ev.Result, c = red(ev.Result)
		evs[i], changed = ev, changed || a || b || c
	}
	if changed {
		req.Events = evs
	}
	if req.Start != nil {
		if in, ok := red(req.Start.Input); ok {
			run := *req.Start
			run.Input = in
			req.Start = &run
		}
	}
	return req
}

// testRedactor: Options.Redactor sees every request of Append and of
// AppendTx (the runtime's path) before anything is written: the stored
// events, the run and the outbox entries hold the marker, never the
// secret, and the caller's request is left as it was.
func testRedactor(t *testing.T, connect func(sqlstore.Options) *sqlstore.Store) {
	s := connect(sqlstore.Options{Outbox: true, Redactor: wordRedactor{}})
	ctx := context.Background()
	secret := json.RawMessage(`{"prompt":"s3cret"}`)
	startEvs := []agentscope.Event{{EventID: "e1", Type: agentscope.SessionStarted, TS: t0, Agent: "bot", Input: secret}}
	start := &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, Input: secret, StartedAt: &t0}
	hooked := false
	res := s.AppendTx(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Start: start, Events: startEvs}},
		func(context.Context, *sql.Tx) error { hooked = true; return nil })[0]
	if res.Err != nil || !hooked {
		t.Fatalf("AppendTx: %v (hook ran: %v)", res.Err, hooked)
	}
	d := 1.0
	calls := []agentscope.Event{
		{EventID: "e2", Type: agentscope.ToolCalled, TS: t0, Tool: "t", CallID: "c", Arguments: json.RawMessage(`{"pw":"s3cret"}`)},
		{EventID: "e3", Type: agentscope.ToolReturned, TS: t0, Tool: "t", CallID: "c", Status: "ok", DurationMS: &d, Result: json.RawMessage(`["s3cret"]`)},
	}
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1", Events: calls}})[0]; res.Err != nil {
		t.Fatal(res.Err)
	}
	if string(startEvs[0].Input) != string(secret) || string(start.Input) != string(secret) || string(calls[0].Arguments) != `{"pw":"s3cret"}` {
		t.Error("the caller's request was modified")
	}
	var seen strings.Builder
	evs, err := s.ListEvents(ctx, org, "s1", agentscope.EventFilter{})
	if err != nil || len(evs) != 3 {
		t.Fatalf("ListEvents: %d events, %v", len(evs), err)
	}
	for _, ev := range evs {
		b, _ := ev.MarshalCanonical()
		seen.Write(b)
	}
	run, err := s.GetRun(ctx, org, "s1")
	if err != nil {
		t.Fatal(err)
	}
	seen.Write(run.Input)
	entries, err := s.ClaimOutbox(ctx, "fwd", 10, time.Minute)
	if err != nil || len(entries) != 3 {
		t.Fatalf("ClaimOutbox: %d entries, %v", len(entries), err)
	}
	for _, e := range entries {
		seen.Write(e.Body)
	}
	if strings.Contains(seen.String(), "s3cret") || strings.Count(seen.String(), redactedMarker) != 3+1+3 {
		t.Errorf("stored, run and outbox: %s", seen.String())
	}
}
