package pghub

import (
	"context"
	"time"
)

const (
	// maxDrain bounds the Publish calls coalesced into one round trip.
	maxDrain = 512
	// sendTimeout bounds one pg_notify round trip; stopTimeout bounds the
	// last one, at Close.
	sendTimeout = 5 * time.Second
	stopTimeout = 2 * time.Second
)

// notifySQL sends each payload, in array order, in one transaction, so a
// listener sees them in that order.
const notifySQL = `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`

// sendLoop turns queued Publish calls into notifications: whatever queued
// while the previous round trip was in flight goes out coalesced in the
// next, one entry per session.
func (h *Hub) sendLoop(ctx context.Context) {
	failing := false
	var last time.Time // when the last notification went out
	var hellos <-chan time.Time
	if !h.opts.PublishOnly {
		t := time.NewTicker(h.opts.HelloInterval)
		defer t.Stop()
		hellos = t.C
	}
	for {
		var batch []queued
		select {
		case <-h.stop:
			h.sendRemaining(ctx, &failing)
			return
		case q := <-h.queue:
			batch = append(batch, q)
		case <-h.wake:
		case <-hellos:
			h.sayHello(helloPlain)
		}
		if wait := time.Until(last.Add(h.opts.Interval)); wait > 0 {
			// Sent less than an interval ago: gather what is published
			// until it has passed.
			t := time.NewTimer(wait)
			select {
			case <-h.stop:
				t.Stop()
				h.send(ctx, stopTimeout, h.drain(batch, cap(h.queue)+1), &failing)
				h.sendRemaining(ctx, &failing)
				return
			case <-t.C:
			}
		}
		batch = h.drain(batch, maxDrain)
		h.send(ctx, sendTimeout, batch, &failing)
		last = time.Now()
	}
}

// sendRemaining sends what Publish queued before Close, so other processes
// hear of this one's last events.
func (h *Hub) sendRemaining(ctx context.Context, failing *bool) {
	batch := h.drain(nil, cap(h.queue))
	if len(batch) > 0 || h.overflow.Load() {
		h.send(ctx, stopTimeout, batch, failing)
	}
}

// drain adds to batch what is queued, up to limit entries.
func (h *Hub) drain(batch []queued, limit int) []queued {
	for len(batch) < limit {
		select {
		case q := <-h.queue:
			batch = append(batch, q)
		default:
			return batch
		}
	}
	return batch
}

// send notifies batch, or pokes everyone if notifications were dropped
// since the last send. A failure is logged when it starts and when it ends
// (failing carries the state), and the next send pokes everyone.
func (h *Hub) send(ctx context.Context, timeout time.Duration, batch []queued, failing *bool) {
	var payloads []string
	if h.alone() {
		// No other process listens: nothing to tell, but a peer that
		// appears later is poked about it (heard).
		if h.overflow.Swap(false) || hasNotes(batch) {
			h.skipped.Store(true)
		}
	} else if h.overflow.Swap(false) {
		payloads = []string{allPayload(h.opts.NodeID)}
	} else {
		lists := make([][]sessionNote, 0, len(batch))
		for _, q := range batch {
			if len(q.notes) > 0 {
				lists = append(lists, q.notes)
			}
		}
		if len(lists) > 0 {
			payloads = encodePayloads(h.opts.NodeID, coalesce(lists))
		}
	}
	notes := len(payloads)
	if kind := h.hello.Swap(0); kind != 0 {
		payloads = append(payloads, helloPayload(h.opts.NodeID, kind == helloReply))
	}
	if len(payloads) > 0 {
		// Counted before the round trip: a listener may hear of them
		// before Exec returns, and Sent must not lag what it heard.
		h.sent.Add(int64(notes))
		sctx, cancel := context.WithTimeout(ctx, timeout)
		_, err := h.pool.Exec(sctx, notifySQL, h.opts.Channel, payloads)
		cancel()
		switch {
		case err != nil:
			h.sent.Add(-int64(notes))
			if notes < len(payloads) {
				// Said again with the next send, not at once: the
				// database may be down.
				h.oweHello(helloReply)
			}
			h.overflow.Store(true)
			if !*failing {
				h.log.Warn("notify failed; other processes' live views fall back to polling", "err", err)
			}
			*failing = true
		case *failing:
			h.log.Info("notify recovered")
			*failing = false
		}
	}
	for _, q := range batch {
		if q.flushed != nil {
			close(q.flushed)
		}
	}
}

// hasNotes reports whether batch holds a Publish call's notes.
func hasNotes(batch []queued) bool {
	for _, q := range batch {
		if len(q.notes) > 0 {
			return true
		}
	}
	return false
}
