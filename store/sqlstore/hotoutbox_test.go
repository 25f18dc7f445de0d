package sqlstore

import (
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

func hotEvents(session string, from, n int, enqueued int64, size int) []hotEvent {
	evs := make([]hotEvent, n)
	for i := range evs {
		evs[i] = hotEvent{key: hotKey{"o", session, int64(from + i)}, enqueued: enqueued, body: []byte(strings.Repeat("x", size))}
	}
	return evs
}

// TestHotOutboxBounds: the hot outbox keeps at most maxBytes of bodies
// and nothing older than maxAge, dropping the oldest first; it serves a
// row only whole and enqueued when asked, and each event once.
func TestHotOutboxBounds(t *testing.T) {
	h := newHotOutbox(1000, 100)
	h.put(hotEvents("a", 1, 5, 0, 100), 0)
	if h.len() != 0 {
		t.Fatalf("kept %d events before the store's first claim", h.len())
	}
	h.claiming.Store(true)
	h.put(hotEvents("a", 1, 5, 0, 100), 0)   // 500 bytes
	h.put(hotEvents("b", 1, 5, 10, 100), 10) // 1,000 bytes: at the bound
	if h.len() != 10 || h.bytes != 1000 {
		t.Fatalf("at the bound: %d entries, %d bytes", h.len(), h.bytes)
	}
	h.put(hotEvents("c", 1, 2, 20, 100), 20) // past it: a's first two go
	if _, ok := h.take("o", "a", 1, 5, 0, 20, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served a row whose oldest events were dropped for the byte bound")
	}
	if h.len() != 7 || h.bytes != 700 {
		t.Fatalf("after the partial row was forgotten: %d entries, %d bytes; want b's and c's, 700", h.len(), h.bytes)
	}
	if _, ok := h.take("o", "b", 1, 5, 11, 20, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served a row enqueued at another time")
	}
	got, ok := h.take("o", "b", 2, 4, 10, 20, nil, agentscope.OutboxEntry{ID: 7})
	if !ok || len(got) != 3 || got[0].Seq != 2 || got[2].Seq != 4 || got[1].ID != 7 || len(got[1].Body) != 100 {
		t.Fatalf("b 2..4: %+v %t", got, ok)
	}
	if _, ok := h.take("o", "b", 2, 2, 10, 20, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served an event twice")
	}
	// Age: at 111, c (enqueued 20) is within 100 µs, b's rest (10) is not.
	h.put(nil, 111)
	h.put(hotEvents("d", 1, 1, 111, 10), 111)
	if _, ok := h.take("o", "b", 5, 5, 10, 111, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served an event past maxAge")
	}
	if _, ok := h.take("o", "c", 1, 2, 20, 111, nil, agentscope.OutboxEntry{}); !ok {
		t.Fatal("c dropped before its age")
	}
	if h.len() != 1 || h.bytes != 10 {
		t.Fatalf("left: %d entries, %d bytes; want d's one", h.len(), h.bytes)
	}
	// The queue of taken entries is compacted, not kept for ever, behind
	// an entry still held as well as once they reach its head.
	for i := range 5000 {
		h.put(hotEvents("e", i, 1, 200, 1), 200)
		if _, ok := h.take("o", "e", int64(i), int64(i), 200, 200, nil, agentscope.OutboxEntry{}); !ok {
			t.Fatal("take e")
		}
	}
	if len(h.fifo)-h.head > 1025 || len(h.fifo) > 2100 {
		t.Fatalf("queue holds %d slots, %d live, after 5,000 taken", len(h.fifo), len(h.fifo)-h.head)
	}
	if _, ok := h.take("o", "d", 1, 1, 111, 200, nil, agentscope.OutboxEntry{}); !ok {
		t.Fatal("take d")
	}
	for i := range 5000 {
		h.put(hotEvents("f", i, 1, 300, 1), 300)
		if _, ok := h.take("o", "f", int64(i), int64(i), 300, 300, nil, agentscope.OutboxEntry{}); !ok {
			t.Fatal("take f")
		}
	}
	if len(h.fifo) > 2100 || h.len() != 0 || h.bytes != 0 {
		t.Fatalf("queue holds %d slots, %d entries, %d bytes after all were taken", len(h.fifo), h.len(), h.bytes)
	}
}
