package sqlstore

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/agentscope/agentscope"
)

// hotOutbox keeps the events this process committed, for a short while,
// so that a claim of their outbox rows (usually this process's own
// forwarder, a moment later) need not read them back from the database:
// reading the claimed events was most of what forwarding cost Postgres
// (about 9 µs of its CPU per event) and a fifth of the forwarder's own,
// and on SQLite, in process, a seventh of all ingest's CPU.
//
// It is a cache, not a second outbox: the outbox rows are still written
// in the commit and claimed, leased, completed and retried in the
// database exactly as before; only the bodies a claim returns may come
// from memory. An entry serves one claim and is dropped; a row claimed
// by another process, or claimed again after a release, is read from the
// database. An entry is served only for the row it was enqueued with: the
// claim returns the row's enqueue time (created_at, which the insert's
// next_attempt_at sets on first claim), and a session deleted and
// recreated with the same ids in the meantime has rows of another time.
// Events are never changed once stored, so a body kept here is the stored
// body.
//
// It keeps nothing until the store's first claim: a process that does not
// forward (an MCP stdio server, a worker, serve with --no-forward) holds
// no bodies for a claim that would never come.
type hotOutbox struct {
	claiming atomic.Bool

	mu    sync.Mutex
	byKey map[hotKey]*hotEvent
	// fifo holds the entries in commit order from head; taken entries stay
	// until they reach the head.
	fifo  []*hotEvent
	head  int
	bytes int
	// maxBytes bounds the bodies kept; maxAge (µs) how long an entry waits
	// for its claim.
	maxBytes int
	maxAge   int64
}

type hotKey struct {
	org, session string
	seq          int64
}

// hotEvent is one committed event as a claim returns it.
type hotEvent struct {
	key      hotKey
	enqueued int64 // the outbox row's next_attempt_at at insert, µs
	eventID  string
	typ      string
	agent    string
	ts       int64
	body     []byte
	taken    bool
}

// Defaults for the hot outbox: a burst of several seconds at full ingest
// rate, and longer than a forwarder takes to claim what was committed.
const (
	hotOutboxBytes = 32 << 20
	hotOutboxAge   = 60_000_000 // µs
)

func newHotOutbox(maxBytes int, maxAge int64) *hotOutbox {
	return &hotOutbox{byKey: map[hotKey]*hotEvent{}, maxBytes: maxBytes, maxAge: maxAge}
}

// put keeps evs, committed at now (µs), dropping the oldest entries past
// the bounds.
func (h *hotOutbox) put(evs []hotEvent, now int64) {
	if len(evs) == 0 || !h.claiming.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range evs {
		e := &evs[i]
		if old := h.byKey[e.key]; old != nil {
			h.drop(old)
		}
		h.byKey[e.key] = e
		h.fifo = append(h.fifo, e)
		h.bytes += len(e.body)
	}
	h.evict(now)
}

// drop removes e from the index; the caller holds mu.
func (h *hotOutbox) drop(e *hotEvent) {
	if !e.taken {
		e.taken = true
		h.bytes -= len(e.body)
		if h.byKey[e.key] == e {
			delete(h.byKey, e.key)
		}
	}
}

// evict drops entries from the head while the bodies exceed maxBytes or
// the head is older than maxAge; the caller holds mu.
func (h *hotOutbox) evict(now int64) {
	for h.head < len(h.fifo) {
		e := h.fifo[h.head]
		if !e.taken && h.bytes <= h.maxBytes && now-e.enqueued <= h.maxAge {
			break
		}
		h.drop(e)
		h.fifo[h.head] = nil
		h.head++
	}
	if h.head > 1024 && h.head*2 > len(h.fifo) {
		n := copy(h.fifo, h.fifo[h.head:])
		clear(h.fifo[n:])
		h.fifo, h.head = h.fifo[:n], 0
	}
	// Taken entries wait behind an older one still held; when they are
	// most of the queue, it keeps only the held ones (amortised: the queue
	// at least halves).
	if live := len(h.fifo) - h.head; live > 1024 && live > 2*len(h.byKey) {
		kept := h.fifo[:0]
		for _, e := range h.fifo[h.head:] {
			if !e.taken {
				kept = append(kept, e)
			}
		}
		clear(h.fifo[len(kept):])
		h.fifo, h.head = kept, 0
	}
}

// take returns the entries of an outbox row, the events seq from..to of
// org's session enqueued at enqueued (µs), and forgets them; it returns
// false, and forgets what it holds of the row, unless it holds all of
// them.
func (h *hotOutbox) take(org, session string, from, to, enqueued int64, now int64, out []agentscope.OutboxEntry, proto agentscope.OutboxEntry) ([]agentscope.OutboxEntry, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.evict(now)
	all := true
	for q := from; q <= to && all; q++ {
		e := h.byKey[hotKey{org, session, q}]
		all = e != nil && e.enqueued == enqueued
	}
	n := len(out)
	for q := from; q <= to; q++ {
		e := h.byKey[hotKey{org, session, q}]
		if e == nil {
			continue
		}
		if all {
			x := proto
			x.Seq, x.EventID, x.Type, x.Agent, x.TS = q, e.eventID, e.typ, e.agent, fromMicros(e.ts)
			x.Body = json.RawMessage(e.body)
			out = append(out, x)
		}
		if all || e.enqueued == enqueued {
			h.drop(e)
		}
	}
	if !all {
		return out[:n], false
	}
	return out, true
}

// len returns the number of entries held, for tests.
func (h *hotOutbox) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byKey)
}
