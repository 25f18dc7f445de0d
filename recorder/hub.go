package recorder

import (
	"slices"
	"sync"

	"github.com/agentscope/agentscope"
)

// Hub fans committed events out to live subscribers. It is a hint, never the
// source of truth: a subscriber that lags or sees a gap in seq re-reads the
// store. MemHub serves one process; store/postgres/pghub wraps it with
// LISTEN/NOTIFY so that events committed by other processes sharing the
// database wake local subscribers too.
type Hub interface {
	// Publish delivers committed events of one organisation, in seq order
	// per session.
	Publish(orgID string, events []agentscope.Event)
	// Subscribe follows one session, or the whole organisation when
	// sessionID is "".
	Subscribe(orgID, sessionID string) *Subscription
}

// subscriptionBuffer bounds the events held for a slow subscriber; past it
// the subscriber is marked lagged and must resync from the store.
const subscriptionBuffer = 4096

// Subscription receives the events a Hub publishes for its filter.
type Subscription struct {
	orgID, sessionID string
	// Ready has a value whenever Take has something to return.
	Ready  chan struct{}
	mu     sync.Mutex
	buf    []agentscope.Event
	lagged bool
	close  func()
}

// Take returns the buffered events and whether the buffer is incomplete
// since the last Take: events were dropped because the subscriber was slow,
// or another process committed events this one was told of (MemHub.Poke).
// Either way the subscriber must re-read the store; the events returned
// with lagged set are still correct, only not all there is.
func (s *Subscription) Take() (events []agentscope.Event, lagged bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events, lagged = s.buf, s.lagged
	s.buf, s.lagged = nil, false
	return events, lagged
}

// Close stops the subscription.
func (s *Subscription) Close() { s.close() }

func (s *Subscription) deliver(evs []agentscope.Event) {
	s.mu.Lock()
	if len(s.buf)+len(evs) > subscriptionBuffer {
		s.buf, s.lagged = nil, true
	} else {
		s.buf = append(s.buf, evs...)
	}
	s.mu.Unlock()
	select {
	case s.Ready <- struct{}{}:
	default:
	}
}

// poke marks s lagged and wakes it. Unlike an overflow it keeps the buffer:
// the events missing are in the store, and those held are still valid.
func (s *Subscription) poke() {
	s.mu.Lock()
	s.lagged = true
	s.mu.Unlock()
	select {
	case s.Ready <- struct{}{}:
	default:
	}
}

// MemHub is the in-process Hub.
type MemHub struct {
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
}

// NewMemHub returns an empty in-process hub.
func NewMemHub() *MemHub { return &MemHub{subs: map[*Subscription]struct{}{}} }

// Subscribe implements Hub.
func (h *MemHub) Subscribe(orgID, sessionID string) *Subscription {
	s := &Subscription{orgID: orgID, sessionID: sessionID, Ready: make(chan struct{}, 1)}
	s.close = func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Subscribers returns how many subscriptions are open.
func (h *MemHub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Publish implements Hub.
func (h *MemHub) Publish(orgID string, events []agentscope.Event) {
	if len(events) == 0 {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if s.orgID != orgID {
			continue
		}
		if s.sessionID == "" {
			s.deliver(events)
			continue
		}
		var mine []agentscope.Event
		for _, ev := range events {
			if ev.SessionID == s.sessionID {
				mine = append(mine, ev)
			}
		}
		if len(mine) > 0 {
			s.deliver(mine)
		}
	}
}

// Poke tells the subscriptions of orgID that follow one of sessionIDs, or
// the whole organisation, that the store holds events they were not given
// (committed by another process), so their next Take reports lagged.
func (h *MemHub) Poke(orgID string, sessionIDs ...string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if s.orgID == orgID && (s.sessionID == "" || slices.Contains(sessionIDs, s.sessionID)) {
			s.poke()
		}
	}
}

// PokeAll marks every subscription lagged, for when the hub may have missed
// notice of other processes' events (a lost connection, an overflow).
func (h *MemHub) PokeAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		s.poke()
	}
}
