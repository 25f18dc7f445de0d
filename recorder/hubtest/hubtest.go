// Package hubtest is the behaviour every recorder.Hub shares for the events
// published in its own process: recorder runs it on MemHub and
// store/postgres/pghub on its Postgres hub, so local delivery cannot drift
// between them.
package hubtest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
)

// Opener returns a fresh hub for one test.
type Opener func(t *testing.T) recorder.Hub

// Run runs the suite against the hubs open returns.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, recorder.Hub){
		"SessionFilter":      testSessionFilter,
		"OrgFilter":          testOrgFilter,
		"EmptyPublish":       testEmptyPublish,
		"TakeDrains":         testTakeDrains,
		"ClosedSubscription": testClosedSubscription,
		"SlowSubscriberLags": testSlowSubscriberLags,
		"Concurrent":         testConcurrent,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

// Event returns a minimal committed event of session sid with seq.
func Event(sid string, seq int64) agentscope.Event {
	return agentscope.Event{SessionID: sid, Seq: seq, EventID: fmt.Sprintf("%s-%d", sid, seq), Type: agentscope.ToolCalled, Tool: "t", CallID: "c", TS: time.Unix(seq, 0).UTC()}
}

// Signalled reports, without waiting, whether sub's Ready has a value (and
// consumes it). Local delivery signals before Publish returns, so a caller
// may test for its absence right after publishing.
func Signalled(sub *recorder.Subscription) bool {
	select {
	case <-sub.Ready:
		return true
	default:
		return false
	}
}

func keys(evs []agentscope.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventID
	}
	return out
}

// expect checks that sub was woken and holds exactly want, not lagged.
func expect(t *testing.T, sub *recorder.Subscription, want ...string) {
	t.Helper()
	if !Signalled(sub) {
		t.Fatalf("Ready not signalled; want %v", want)
	}
	evs, lagged := sub.Take()
	if lagged {
		t.Fatalf("lagged; want %v", want)
	}
	if got := keys(evs); !slices.Equal(got, want) {
		t.Fatalf("took %v, want %v", got, want)
	}
}

// expectNothing checks that sub was not woken and holds nothing.
func expectNothing(t *testing.T, sub *recorder.Subscription) {
	t.Helper()
	if Signalled(sub) {
		t.Fatal("Ready signalled for events not subscribed to")
	}
	if evs, lagged := sub.Take(); len(evs) > 0 || lagged {
		t.Fatalf("took %v (lagged %v), want nothing", keys(evs), lagged)
	}
}

func testSessionFilter(t *testing.T, h recorder.Hub) {
	mine := h.Subscribe("o1", "s1")
	defer mine.Close()
	otherOrg := h.Subscribe("o2", "s1")
	defer otherOrg.Close()
	h.Publish("o1", []agentscope.Event{Event("s1", 1), Event("s2", 1), Event("s1", 2)})
	expect(t, mine, "s1-1", "s1-2")
	expectNothing(t, otherOrg)
}

func testOrgFilter(t *testing.T, h recorder.Hub) {
	org := h.Subscribe("o1", "")
	defer org.Close()
	otherOrg := h.Subscribe("o2", "")
	defer otherOrg.Close()
	h.Publish("o1", []agentscope.Event{Event("s1", 1), Event("s2", 1), Event("s1", 2)})
	expect(t, org, "s1-1", "s2-1", "s1-2")
	expectNothing(t, otherOrg)
}

func testEmptyPublish(t *testing.T, h recorder.Hub) {
	sub := h.Subscribe("o1", "")
	defer sub.Close()
	h.Publish("o1", nil)
	expectNothing(t, sub)
}

func testTakeDrains(t *testing.T, h recorder.Hub) {
	sub := h.Subscribe("o1", "s1")
	defer sub.Close()
	h.Publish("o1", []agentscope.Event{Event("s1", 1)})
	h.Publish("o1", []agentscope.Event{Event("s1", 2)})
	expect(t, sub, "s1-1", "s1-2")
	expectNothing(t, sub)
}

func testClosedSubscription(t *testing.T, h recorder.Hub) {
	sub := h.Subscribe("o1", "s1")
	sub.Close()
	h.Publish("o1", []agentscope.Event{Event("s1", 1)})
	expectNothing(t, sub)
}

// testSlowSubscriberLags: past the buffer the subscriber loses what it held
// and is told to resync; delivery then resumes.
func testSlowSubscriberLags(t *testing.T, h recorder.Hub) {
	sub := h.Subscribe("o1", "s1")
	defer sub.Close()
	var evs []agentscope.Event
	for i := range 5000 {
		evs = append(evs, Event("s1", int64(i+1)))
	}
	h.Publish("o1", evs)
	if !Signalled(sub) {
		t.Fatal("Ready not signalled")
	}
	if got, lagged := sub.Take(); !lagged || len(got) != 0 {
		t.Fatalf("took %d events, lagged %v; want none, lagged", len(got), lagged)
	}
	h.Publish("o1", []agentscope.Event{Event("s1", 5001)})
	expect(t, sub, "s1-5001")
}

// testConcurrent publishes to many sessions while subscriptions come and
// go; each session's subscriber receives its events once, in order.
func testConcurrent(t *testing.T, h recorder.Hub) {
	const sessions, each = 8, 200
	subs := make([]*recorder.Subscription, sessions)
	for i := range subs {
		subs[i] = h.Subscribe("o1", fmt.Sprintf("s%d", i))
		defer subs[i].Close()
	}
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			for j := range each {
				h.Publish("o1", []agentscope.Event{Event(fmt.Sprintf("s%d", i), int64(j+1))})
			}
		})
		wg.Go(func() {
			for range each {
				h.Subscribe("o1", "").Close()
			}
		})
	}
	wg.Wait()
	for i, sub := range subs {
		evs, lagged := sub.Take()
		if lagged || len(evs) != each {
			t.Fatalf("s%d: took %d events, lagged %v; want %d", i, len(evs), lagged, each)
		}
		for j, ev := range evs {
			if ev.Seq != int64(j+1) {
				t.Fatalf("s%d: event %d has seq %d", i, j, ev.Seq)
			}
		}
	}
}
