package splunkbridge

import (
	"context"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
)

// Progress is what a forwarder has done since it started.
type Progress struct {
	// Delivered counts events Splunk accepted (and, with indexer
	// acknowledgement, acknowledged).
	Delivered int64
	// DeadLettered counts events Splunk refused, moved to dead_letters.
	DeadLettered int64
	// Requests counts event batches sent; Failures those that failed
	// transiently or were refused for configuration.
	Requests int64
	Failures int64
	// Paused reports a configuration error that stops sending.
	Paused bool
	// AwaitingAck counts batches sent and not yet acknowledged.
	AwaitingAck int
}

// state is the forwarder's shared, mutable view of itself: progress,
// errors, the hold that spaces retries, and the HEC endpoint's health.
// Every change wakes those waiting in waitFor.
type state struct {
	mu      sync.Mutex
	changed chan struct{}
	p       Progress

	// failures counts consecutive failed sends, for the backoff; a
	// success resets it.
	failures int
	// holdUntil: no claim and no send before this time. holdSet is closed
	// (and replaced) whenever it moves, to wake an idle claimer.
	holdUntil   time.Time
	holdSet     chan struct{}
	pauseReason string
	lastError   string
	lastErrorAt time.Time
	lastSuccess time.Time
	endpoint    agentscope.HECEndpointHealth
}

func newState() *state { return &state{changed: make(chan struct{}), holdSet: make(chan struct{})} }

// update applies fn under the lock and wakes waiters.
func (s *state) update(fn func(*state)) {
	s.mu.Lock()
	fn(s)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// read runs fn under the lock.
func (s *state) read(fn func(*state)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *state) progress() Progress {
	var p Progress
	s.read(func(s *state) { p = s.p })
	return p
}

// waitFor blocks until cond holds for the progress or ctx ends.
func (s *state) waitFor(ctx context.Context, cond func(Progress) bool) error {
	for {
		s.mu.Lock()
		p, ch := s.p, s.changed
		s.mu.Unlock()
		if cond(p) {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-ch:
		}
	}
}

// hold returns how long sending must wait, zero if not at all.
func (s *state) hold(now time.Time) time.Duration {
	var d time.Duration
	s.read(func(s *state) { d = s.holdUntil.Sub(now) })
	return max(d, 0)
}

// holdSignal returns a channel closed when the hold is next set or moved.
func (s *state) holdSignal() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holdSet
}

// extendHold moves the hold to at if that is later; callers hold s.mu.
func (s *state) extendHold(at time.Time) {
	if at.After(s.holdUntil) {
		s.holdUntil = at
		close(s.holdSet)
		s.holdSet = make(chan struct{})
	}
}

// unhealthy reports whether the last send failed, so the claimer probes
// with a single batch rather than a full pipeline.
func (s *state) unhealthy() bool {
	var u bool
	s.read(func(s *state) { u = s.failures > 0 })
	return u
}

// answered records a request Splunk processed, whatever it decided about
// each event: the endpoint and the token work, so backoff and any pause
// end. delivered counts the events it accepted for good.
func (s *state) answered(now time.Time, delivered int) {
	s.update(func(s *state) {
		s.p.Requests++
		s.p.Delivered += int64(delivered)
		s.failures, s.pauseReason, s.p.Paused = 0, "", false
		s.lastSuccess = now
	})
}

// acked records events whose acknowledgement arrived.
func (s *state) acked(now time.Time, events int) {
	s.update(func(s *state) {
		s.p.Delivered += int64(events)
		s.lastSuccess = now
	})
}

// deadLettered records events moved to dead_letters.
func (s *state) deadLettered(events int) {
	s.update(func(s *state) { s.p.DeadLettered += int64(events) })
}

// awaiting adjusts the count of batches waiting for acknowledgement.
func (s *state) awaiting(delta int) {
	s.update(func(s *state) { s.p.AwaitingAck += delta })
}

// failed records a transient failure and holds sending for delay(n), n
// counting consecutive failures; it returns when sending resumes. Failures
// of requests that were in flight together count once, so one outage does
// not multiply the backoff by the concurrency.
func (s *state) failed(now time.Time, reason string, delay func(n int) time.Duration) time.Time {
	var until time.Time
	s.update(func(s *state) {
		s.p.Requests++
		s.p.Failures++
		s.lastError, s.lastErrorAt = reason, now
		if !s.holdUntil.After(now) {
			s.failures++
		}
		s.extendHold(now.Add(delay(s.failures)))
		until = s.holdUntil
	})
	return until
}

// paused records a configuration error and holds sending for retry; it
// returns when sending resumes.
func (s *state) paused(now time.Time, reason string, retry time.Duration) time.Time {
	var until time.Time
	s.update(func(s *state) {
		s.p.Requests++
		s.p.Failures++
		s.failures++
		s.p.Paused, s.pauseReason = true, reason
		s.lastError, s.lastErrorAt = reason, now
		s.extendHold(now.Add(retry))
		until = s.holdUntil
	})
	return until
}

// internalError records a failure on our side (the store) for health.
func (s *state) internalError(now time.Time, reason string) {
	s.update(func(s *state) { s.lastError, s.lastErrorAt = reason, now })
}
