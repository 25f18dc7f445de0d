package recorder

import (
	"context"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// echoStore appends every request's events as given, but fails the
// requests of session "bad" and marks each event whose id starts with
// "dup" as already stored.
type echoStore struct{ agentscope.Store }

func (echoStore) Append(_ context.Context, reqs []agentscope.AppendRequest) []agentscope.AppendResult {
	out := make([]agentscope.AppendResult, len(reqs))
	for i, r := range reqs {
		if r.SessionID == "bad" {
			out[i].Err = agentscope.Errorf(agentscope.EINVALID, "bad")
			continue
		}
		out[i].Events = r.Events
		out[i].Duplicate = make([]bool, len(r.Events))
		for k, ev := range r.Events {
			out[i].Duplicate[k] = strings.HasPrefix(ev.EventID, "dup")
		}
	}
	return out
}

// TestCommitPublishesAppendedEvents: a group commit of several requests
// tells the observers of each request that appended events, under its
// organisation, with those events in request order: none of another
// organisation's, none a failed request or a duplicate holds, and no call
// for a request that appended nothing.
func TestCommitPublishesAppendedEvents(t *testing.T) {
	got := map[string][]string{}
	calls := map[string]int{}
	r := New(echoStore{}, Options{Observers: []func(string, []agentscope.Event){func(org string, evs []agentscope.Event) {
		calls[org]++
		for _, ev := range evs {
			got[org] = append(got[org], ev.EventID)
		}
	}}})
	defer r.Close()
	req := func(org, session string, ids ...string) *pending {
		evs := make([]agentscope.Event, len(ids))
		for i, id := range ids {
			evs[i] = agentscope.Event{EventID: id, SessionID: session}
		}
		return &pending{req: agentscope.AppendRequest{OrgID: org, SessionID: session, Events: evs}, done: make(chan agentscope.AppendResult, 1)}
	}
	r.commit([]*pending{
		req("a", "s1", "a1", "a2"),
		req("b", "s2", "b1"),
		req("a", "bad", "x1"),
		req("a", "s3", "a3", "dup1", "a4"),
		req("c", "s4", "dup2"),
		req("a", "s1", "a5"),
	})
	want := map[string]string{"a": "a1 a2 a3 a4 a5", "b": "b1"}
	wantCalls := map[string]int{"a": 3, "b": 1}
	if len(got) != len(want) {
		t.Fatalf("observed organisations %v, want a and b", got)
	}
	for org, ids := range want {
		if s := strings.Join(got[org], " "); s != ids || calls[org] != wantCalls[org] {
			t.Errorf("org %s: %d calls with %s, want %d with %s", org, calls[org], s, wantCalls[org], ids)
		}
	}
}
