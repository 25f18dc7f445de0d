package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
)

// TestEndIdleSessions: on both stores, a capture session (metadata source)
// whose last event is older than the idle time is ended as completed with
// its model calls priced, in every organisation; a busy one, one of
// another source and an ended one are left alone; only AgentScope itself
// may sweep.
func TestEndIdleSessions(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
			t.Cleanup(func() { rec.Close() })
			svc := service.New(rec, service.Options{Idle: st})
			old := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Microsecond).Format(time.RFC3339Nano)
			session := func(org, sid, source, ts string) {
				t.Helper()
				ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal(org))
				if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "ext-bot", SessionID: sid, Metadata: map[string]string{"source": source, "team": "x"}}); err != nil {
					t.Fatal(err)
				}
				ev := fmt.Sprintf(call, `,"ts":"`+ts+`"`)
				if res, err := svc.Record(ctx, sid, []json.RawMessage{json.RawMessage(ev)}); err != nil || !res[0].Accepted {
					t.Fatalf("record: %+v %v", res, err)
				}
			}
			session("org-a", "idle-a", "otlp", old)
			session("org-b", "idle-b", "otlp", old)
			session("org-a", "busy", "otlp", time.Now().UTC().Format(time.RFC3339Nano))
			session("org-a", "other-source", "sdk", old)
			session("org-a", "ended", "otlp", old)
			actx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-a"))
			if _, err := svc.EndRun(actx, service.EndRunInput{SessionID: "ended", Status: "failed", Error: "by hand"}); err != nil {
				t.Fatal(err)
			}

			for _, p := range []agentscope.Principal{agentscope.ManagedAgentPrincipal("org-a"), agentscope.OperatorPrincipal("org-a")} {
				if _, err := svc.EndIdleSessions(agentscope.WithPrincipal(context.Background(), p), "otlp", time.Hour); agentscope.ErrorCode(err) != agentscope.EFORBIDDEN {
					t.Errorf("%+v swept: %v, want EFORBIDDEN", p, err)
				}
			}
			sys := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal(agentscope.DefaultOrgID))
			n, err := svc.EndIdleSessions(sys, "otlp", time.Hour)
			if err != nil || n != 2 {
				t.Fatalf("ended %d (%v), want idle-a and idle-b", n, err)
			}
			want := map[string]struct {
				org    string
				status agentscope.RunStatus
				cost   string
			}{
				"idle-a": {"org-a", agentscope.StatusCompleted, "0.0028"}, "idle-b": {"org-b", agentscope.StatusCompleted, "0.0028"},
				"busy": {"org-a", agentscope.StatusRunning, "0"}, "other-source": {"org-a", agentscope.StatusRunning, "0"},
				"ended": {"org-a", agentscope.StatusFailed, "0.0028"},
			}
			for sid, w := range want {
				run, err := st.GetRun(context.Background(), w.org, sid)
				if err != nil || run.Status != w.status || run.CostUSD.String() != w.cost {
					t.Errorf("%s: %s costing %s (%v), want %s costing %s", sid, run.Status, run.CostUSD, err, w.status, w.cost)
				}
			}
			// An idle session ended with its last event, not when the sweep
			// found it: its duration is its activity.
			if run, _ := st.GetRun(context.Background(), "org-a", "idle-a"); run.EndedAt == nil || run.EndedAt.Format(time.RFC3339Nano) != old {
				t.Errorf("idle-a ended at %v, want its last event's %s", run.EndedAt, old)
			}
			evs, _ := st.ListEvents(context.Background(), "org-a", "idle-a", agentscope.EventFilter{Types: []agentscope.EventType{agentscope.SessionCompleted}})
			if len(evs) != 1 || evs[0].TS.Format(time.RFC3339Nano) != old {
				t.Errorf("idle-a's SessionCompleted %+v, want ts %s", evs, old)
			}
			if n, err := svc.EndIdleSessions(sys, "otlp", time.Hour); err != nil || n != 0 {
				t.Errorf("second sweep ended %d (%v), want none", n, err)
			}
		})
	}
}

// TestIdleCaptureSessionResumes: on both stores, a session the LLM gateway
// started and the sweep ended is resumed by the next call's events, in its
// organisation only; a retry of events it holds changes nothing; a session
// another path recorded is not resumed by the gateway.
func TestIdleCaptureSessionResumes(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
			t.Cleanup(func() { rec.Close() })
			svc := service.New(rec, service.Options{Idle: st})
			ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-a"))
			old := time.Now().UTC().Add(-2 * time.Hour)
			ev := func(id string) agentscope.Event {
				return agentscope.Event{EventID: id, Type: agentscope.ModelInvoked, TS: old, Provider: "openai", Model: "gpt-4.1"}
			}
			if err := svc.RecordGateway(ctx, "hdr-1", "gw-bot", []agentscope.Event{ev("call-1")}); err != nil {
				t.Fatal(err)
			}
			sys := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal(agentscope.DefaultOrgID))
			if n, err := svc.EndIdleSessions(sys, "gateway", time.Hour); err != nil || n != 1 {
				t.Fatalf("swept %d (%v), want 1", n, err)
			}
			status := func(org string) (agentscope.RunStatus, int64) {
				t.Helper()
				run, err := st.GetRun(context.Background(), org, "hdr-1")
				if err != nil {
					t.Fatal(err)
				}
				return run.Status, run.EventCount
			}
			if s, n := status("org-a"); s != agentscope.StatusCompleted || n != 3 {
				t.Fatalf("after the sweep: %s with %d events, want completed with 3", s, n)
			}
			if err := svc.RecordGateway(ctx, "hdr-1", "gw-bot", []agentscope.Event{ev("call-1")}); err != nil {
				t.Fatalf("retry after the end: %v", err)
			}
			if s, n := status("org-a"); s != agentscope.StatusCompleted || n != 3 {
				t.Fatalf("a retry changed the ended session: %s with %d events", s, n)
			}
			if err := svc.RecordGateway(ctx, "hdr-1", "gw-bot", []agentscope.Event{ev("call-2")}); err != nil {
				t.Fatalf("late call: %v", err)
			}
			if s, n := status("org-a"); s != agentscope.StatusRunning || n != 4 {
				t.Fatalf("after a late call: %s with %d events, want running with 4", s, n)
			}

			// An SDK session (record_event's) that has ended is not
			// resumed by a gateway call naming it.
			if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "gw-bot", SessionID: "sdk-1"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.EndRun(ctx, service.EndRunInput{SessionID: "sdk-1", Status: "completed"}); err != nil {
				t.Fatal(err)
			}
			// Nor are the call's events lost (found trying it as a new
			// user: they were refused, with a log line only): they start
			// a session of their own that names it.
			for range 2 { // a second call lands in the same continuation
				if err := svc.RecordGateway(ctx, "sdk-1", "gw-bot", []agentscope.Event{ev("call-3")}); err != nil {
					t.Fatalf("gateway call into an ended SDK session: %v", err)
				}
			}
			if run, _ := st.GetRun(context.Background(), "org-a", "sdk-1"); run.Status != agentscope.StatusCompleted || run.EventCount != 2 {
				t.Fatalf("the ended SDK session changed: %+v", run)
			}
			page, err := st.ListRuns(context.Background(), "org-a", agentscope.RunFilter{Agent: "gw-bot", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var cont []agentscope.Run
			for _, r := range page.Runs {
				if r.Metadata["continues_session"] == "sdk-1" {
					cont = append(cont, r)
				}
			}
			if len(cont) != 1 || cont[0].EventCount != 2 || cont[0].Metadata["source"] != "gateway" || !strings.HasPrefix(cont[0].SessionID, "gateway-") {
				t.Fatalf("continuations of sdk-1: %+v, want one holding its start and the call", cont)
			}
		})
	}
}
