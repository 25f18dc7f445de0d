// Package eventgen appends deterministic event streams to a store for the
// forwarder's tests, its crash-test program and its benchmarks, so all of
// them agree on which events exist and which are poisoned.
package eventgen

import (
	"context"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// Poison is the marker a poisoned event carries in its attributes; a
// hectest server told to refuse it does so as Splunk refuses a bad event.
const Poison = "POISON-PILL"

// T0 is the timestamp of the first generated event; each next event is a
// millisecond later.
var T0 = time.Date(2026, 11, 1, 12, 0, 0, 123_456_000, time.UTC)

// Spec describes a stream: Sessions sessions of PerSession events each (a
// SessionStarted, then model invocations), numbered from 0 across
// sessions.
type Spec struct {
	OrgID      string
	Sessions   int
	PerSession int
	// Poisoned reports whether event i carries Poison; nil means none.
	Poisoned func(i int) bool
}

// Events returns the number of events in the stream.
func (s Spec) Events() int { return s.Sessions * s.PerSession }

// SessionID returns the id of session sn.
func (s Spec) SessionID(sn int) string { return fmt.Sprintf("s-%s-%05d", s.OrgID, sn) }

// EventID returns the id of event i.
func (s Spec) EventID(i int) string { return fmt.Sprintf("e-%d", i) }

// Key returns event i's identity as hectest records it.
func (s Spec) Key(i int) string {
	return s.OrgID + "/" + s.SessionID(i/s.PerSession) + "/" + s.EventID(i)
}

// Seed appends the stream to store, a few sessions per call as concurrent
// callers would be grouped, and returns the events as stored.
func (s Spec) Seed(ctx context.Context, store agentscope.Store) ([]agentscope.Event, error) {
	const sessionsPerCall = 20
	out := make([]agentscope.Event, 0, s.Events())
	for first := 0; first < s.Sessions; first += sessionsPerCall {
		reqs := s.requests(first, min(first+sessionsPerCall, s.Sessions))
		for i, res := range store.Append(ctx, reqs) {
			if res.Err != nil {
				return nil, fmt.Errorf("seed session %s: %w", reqs[i].SessionID, res.Err)
			}
			out = append(out, res.Events...)
		}
	}
	return out, nil
}

// requests returns the append requests of sessions [first, last).
func (s Spec) requests(first, last int) []agentscope.AppendRequest {
	reqs := make([]agentscope.AppendRequest, 0, last-first)
	for sn := first; sn < last; sn++ {
		req := agentscope.AppendRequest{OrgID: s.OrgID, SessionID: s.SessionID(sn),
			Start: &agentscope.Run{Agent: "planner", Status: agentscope.StatusRunning, CreatedAt: T0}}
		for k := range s.PerSession {
			i := sn*s.PerSession + k
			ev := agentscope.Event{EventID: s.EventID(i), TS: T0.Add(time.Duration(i) * time.Millisecond)}
			if k == 0 {
				ev.Type, ev.Agent = agentscope.SessionStarted, "planner"
			} else {
				ev.Type, ev.Provider, ev.Model = agentscope.ModelInvoked, "openai", "gpt-4.1"
			}
			if s.Poisoned != nil && s.Poisoned(i) {
				ev.Attributes = map[string]any{"note": Poison}
			}
			req.Events = append(req.Events, ev)
		}
		reqs = append(reqs, req)
	}
	return reqs
}

// PoisonEvery returns a Poisoned function marking one event in every n
// (the n/2-th of each run of n), or nil for n <= 0.
func PoisonEvery(n int) func(int) bool {
	if n <= 0 {
		return nil
	}
	return func(i int) bool { return i%n == n/2 }
}
