package service_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// TestRecordBatchOfSessions: one batch whose events interleave sessions,
// with a bad event among them, is answered event by event in the batch's
// order, each session's events stored in the batch's order with their own
// seqs, and the bad one refused alone.
func TestRecordBatchOfSessions(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := serviceOver(t, open(t))
			ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-a"))
			for _, sid := range []string{"a", "b"} {
				if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "bot", SessionID: sid}); err != nil {
					t.Fatal(err)
				}
			}
			raws := []json.RawMessage{
				json.RawMessage(`{"session_id":"a","type":"ToolCalled","tool":"t","call_id":"a1"}`),
				json.RawMessage(`{"session_id":"b","type":"ToolCalled","tool":"t","call_id":"b1"}`),
				json.RawMessage(`{"type":"ToolCalled","tool":"t","call_id":"default1"}`),
				json.RawMessage(`{"session_id":"b","type":"ToolCalled","call_id":"no tool"}`),
				json.RawMessage(`{"session_id":"a","type":"ToolCalled","tool":"t","call_id":"a2"}`),
				json.RawMessage(`{"session_id":"b","type":"ToolCalled","tool":"t","call_id":"b2"}`),
			}
			res, err := svc.Record(ctx, "b", raws)
			if err != nil {
				t.Fatal(err)
			}
			want := []struct {
				session string
				seq     int64
				ok      bool
			}{{"a", 2, true}, {"b", 2, true}, {"b", 3, true}, {"", 0, false}, {"a", 3, true}, {"b", 4, true}}
			if len(res) != len(want) {
				t.Fatalf("%d results for %d events", len(res), len(want))
			}
			for i, w := range want {
				r := res[i]
				if r.Index != i || r.Accepted != w.ok || (w.ok && (r.SessionID != w.session || r.Seq != w.seq)) {
					t.Errorf("result %d = %+v, want session %q seq %d accepted %v", i, r, w.session, w.seq, w.ok)
				}
			}
			if res[3].Code != agentscope.EINVALID {
				t.Errorf("the event without a tool: code %q, want %q", res[3].Code, agentscope.EINVALID)
			}
			for sid, calls := range map[string][]string{"a": {"a1", "a2"}, "b": {"b1", "default1", "b2"}} {
				evs, err := svc.ListEvents(ctx, sid, agentscope.EventFilter{})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, ev := range evs[1:] {
					got = append(got, ev.CallID)
				}
				if !slices.Equal(got, calls) {
					t.Errorf("session %s holds calls %q, want %q", sid, got, calls)
				}
			}
		})
	}
}

// TestRecordBadDefaultSession: events are committed as validated when
// decoded, so the default session an event takes afterwards must be
// checked too: a malformed one is refused on each event that would take
// it, naming session_id, while the batch's events with a session of their
// own are stored, and nothing lands under the bad id.
func TestRecordBadDefaultSession(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := serviceOver(t, open(t))
			ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-a"))
			if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "bot", SessionID: "a"}); err != nil {
				t.Fatal(err)
			}
			raws := []json.RawMessage{
				json.RawMessage(`{"type":"ToolCalled","tool":"t","call_id":"d1"}`),
				json.RawMessage(`{"session_id":"a","type":"ToolCalled","tool":"t","call_id":"a1"}`),
			}
			for _, bad := range []string{"has space", "x/../y", string(make([]byte, 65))} {
				res, err := svc.Record(ctx, bad, raws)
				if err != nil {
					t.Fatal(err)
				}
				if res[0].Accepted || res[0].Code != agentscope.EINVALID || !strings.Contains(res[0].Error, "session_id") {
					t.Errorf("default %q: the event without a session: %+v, want refused on session_id", bad, res[0])
				}
				if !res[1].Accepted {
					t.Errorf("default %q: the event with its own session: %+v, want accepted", bad, res[1])
				}
				if _, err := svc.ListEvents(ctx, bad, agentscope.EventFilter{}); agentscope.ErrorCode(err) != agentscope.EINVALID && agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
					t.Errorf("default %q: listing it gives %v, want nothing stored", bad, err)
				}
			}
		})
	}
}
