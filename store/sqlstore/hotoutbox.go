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
// from memory. It holds each outbox row's events together, as the row
// was written (one run of a session's seqs), and serves them only to a
// claim of that same row: the same first and last seq and the same
// enqueue time (created_at, which the insert's next_attempt_at sets on
// first claim), so a session deleted and recreated with the same ids in
// the meantime, whose rows have another time, is read from the database.
// A row served once is dropped; a row claimed by another process, claimed
// again after a release, or split by a partial delivery is read from the
// database. Events are never changed once stored, so a body kept here is
// the stored body.
//
// Rows, not events, are its unit: one lookup per row of up to
// maxOutboxRun events, where a lookup per event was a tenth of the
// forwarder's CPU.
//
// It keeps nothing until the store's first claim: a process that does not
// forward (an MCP stdio server, a worker, serve with --no-forward) holds
// no bodies for a claim that would never come.
type hotOutbox struct {
	claiming atomic.Bool

	mu    sync.Mutex
	byKey map[hotKey]*hotRun
	// fifo holds the rows in commit order from head; taken rows stay
	// until they reach the head.
	fifo  []*hotRun
	head  int
	bytes int
	// maxBytes bounds the bodies kept; maxAge (µs) how long a row waits
	// for its claim.
	maxBytes int
	maxAge   int64
}

// hotKey names an outbox row: its session and first seq.
type hotKey struct {
	org, session string
	from         int64
}

// hotRun is one outbox row's events, seqs key.from through to, as a claim
// returns them.
type hotRun struct {
	key      hotKey
	to       int64
	enqueued int64 // the outbox row's next_attempt_at at insert, µs
	events   []hotEvent
	bytes    int // of the events' bodies
	taken    bool
}

// hotEvent is one committed event of a hotRun, in seq order.
type hotEvent struct {
	eventID string
	typ     string
	agent   string
	ts      int64
	body    []byte
}

// Defaults for the hot outbox: a burst of several seconds at full ingest
// rate, and longer than a forwarder takes to claim what was committed.
const (
	hotOutboxBytes = 32 << 20
	hotOutboxAge   = 60_000_000 // µs
)

func newHotOutbox(maxBytes int, maxAge int64) *hotOutbox {
	return &hotOutbox{byKey: map[hotKey]*hotRun{}, maxBytes: maxBytes, maxAge: maxAge}
}

// put keeps runs, committed at now (µs), dropping the oldest rows past
// the bounds.
func (h *hotOutbox) put(runs []hotRun, now int64) {
	if len(runs) == 0 || !h.claiming.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range runs {
		r := &runs[i]
		if old := h.byKey[r.key]; old != nil {
			h.drop(old)
		}
		h.byKey[r.key] = r
		h.fifo = append(h.fifo, r)
		h.bytes += r.bytes
	}
	h.evict(now)
}

// drop removes r from the index and lets go of its bodies; the caller
// holds mu.
func (h *hotOutbox) drop(r *hotRun) {
	if !r.taken {
		r.taken = true
		h.bytes -= r.bytes
		if h.byKey[r.key] == r {
			delete(h.byKey, r.key)
		}
		r.events = nil
	}
}

// evict drops rows from the head while the bodies exceed maxBytes or the
// head is older than maxAge; the caller holds mu.
func (h *hotOutbox) evict(now int64) {
	for h.head < len(h.fifo) {
		r := h.fifo[h.head]
		if !r.taken && h.bytes <= h.maxBytes && now-r.enqueued <= h.maxAge {
			break
		}
		h.drop(r)
		h.fifo[h.head] = nil
		h.head++
	}
	if h.head > 1024 && h.head*2 > len(h.fifo) {
		n := copy(h.fifo, h.fifo[h.head:])
		clear(h.fifo[n:])
		h.fifo, h.head = h.fifo[:n], 0
	}
	// Taken rows wait behind an older one still held; when they are most
	// of the queue, it keeps only the held ones (amortised: the queue at
	// least halves).
	if live := len(h.fifo) - h.head; live > 1024 && live > 2*len(h.byKey) {
		kept := h.fifo[:0]
		for _, r := range h.fifo[h.head:] {
			if !r.taken {
				kept = append(kept, r)
			}
		}
		clear(h.fifo[len(kept):])
		h.fifo, h.head = kept, 0
	}
}

// take appends to out the entries of an outbox row, the events seq from..to
// of org's session enqueued at enqueued (µs), each a copy of proto with
// the event's own fields, and forgets them. It returns false unless it
// holds that very row, and then forgets a row of the same first seq and
// enqueue time: the row was split, and will not be claimed whole again.
func (h *hotOutbox) take(org, session string, from, to, enqueued int64, now int64, out []agentscope.OutboxEntry, proto agentscope.OutboxEntry) ([]agentscope.OutboxEntry, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.evict(now)
	r := h.byKey[hotKey{org, session, from}]
	if r == nil {
		return out, false
	}
	if r.enqueued != enqueued {
		return out, false // another row of the same name, kept for its own claim
	}
	if r.to != to || len(r.events) != int(to-from+1) {
		h.drop(r) // the row was split: its claims are of other ranges
		return out, false
	}
	for i := range r.events {
		e := &r.events[i]
		x := proto
		x.Seq, x.EventID, x.Type, x.Agent, x.TS = from+int64(i), e.eventID, e.typ, e.agent, fromMicros(e.ts)
		x.Body = json.RawMessage(e.body)
		out = append(out, x)
	}
	h.drop(r)
	return out, true
}

// len returns the number of rows held, for tests.
func (h *hotOutbox) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byKey)
}
