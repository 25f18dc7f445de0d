package sqlstore

import (
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// hotRow is one outbox row of n events of session from seq from, each
// body size bytes, enqueued at enqueued.
func hotRow(session string, from, n int, enqueued int64, size int) []hotRun {
	r := hotRun{key: hotKey{"o", session, int64(from)}, to: int64(from + n - 1), enqueued: enqueued}
	for i := range n {
		r.events = append(r.events, hotEvent{eventID: session + "-" + string(rune('a'+i)), body: []byte(strings.Repeat("x", size))})
		r.bytes += size
	}
	return []hotRun{r}
}

// TestHotOutboxBounds: the hot outbox keeps at most maxBytes of bodies
// and nothing older than maxAge, dropping the oldest rows first; it serves
// a row only whole, as written and enqueued when asked, and once.
func TestHotOutboxBounds(t *testing.T) {
	h := newHotOutbox(1000, 100)
	h.put(hotRow("a", 1, 5, 0, 100), 0)
	if h.len() != 0 {
		t.Fatalf("kept %d rows before the store's first claim", h.len())
	}
	h.claiming.Store(true)
	h.put(hotRow("a", 1, 5, 0, 100), 0)   // 500 bytes
	h.put(hotRow("b", 1, 5, 10, 100), 10) // 1,000 bytes: at the bound
	if h.len() != 2 || h.bytes != 1000 {
		t.Fatalf("at the bound: %d rows, %d bytes", h.len(), h.bytes)
	}
	h.put(hotRow("c", 1, 2, 20, 100), 20) // past it: a goes
	if _, ok := h.take("o", "a", 1, 5, 0, 20, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served a row dropped for the byte bound")
	}
	if h.len() != 2 || h.bytes != 700 {
		t.Fatalf("after the oldest row was dropped: %d rows, %d bytes; want b and c, 700", h.len(), h.bytes)
	}
	if _, ok := h.take("o", "b", 1, 5, 11, 20, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served a row enqueued at another time")
	}
	if h.len() != 2 {
		t.Fatal("a claim of another row of the same name dropped the row held")
	}
	got, ok := h.take("o", "b", 1, 5, 10, 20, nil, agentscope.OutboxEntry{ID: 7, OrgID: "o", SessionID: "b"})
	if !ok || len(got) != 5 || got[0].Seq != 1 || got[4].Seq != 5 || got[1].ID != 7 || got[2].EventID != "b-c" ||
		got[3].SessionID != "b" || len(got[1].Body) != 100 {
		t.Fatalf("b 1..5: %+v %t", got, ok)
	}
	if _, ok := h.take("o", "b", 1, 5, 10, 20, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served a row twice")
	}
	// A row split by a partial delivery is claimed as other ranges: the
	// part that starts where the row did is not served, and the row is
	// forgotten.
	h.put(hotRow("s", 1, 4, 20, 10), 20)
	if _, ok := h.take("o", "s", 1, 2, 20, 20, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served part of a row")
	}
	if _, ok := h.take("o", "s", 1, 4, 20, 20, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served a row after a claim of part of it")
	}
	// Age: at 125, c (enqueued 20) is past 100 µs, g (30) is within.
	h.put(hotRow("g", 1, 1, 30, 10), 30)
	h.put(nil, 125)
	h.put(hotRow("d", 1, 1, 111, 10), 125)
	if _, ok := h.take("o", "c", 1, 2, 20, 125, nil, agentscope.OutboxEntry{}); ok {
		t.Fatal("served a row past maxAge")
	}
	if _, ok := h.take("o", "g", 1, 1, 30, 125, nil, agentscope.OutboxEntry{}); !ok {
		t.Fatal("g dropped before its age")
	}
	if h.len() != 1 || h.bytes != 10 {
		t.Fatalf("left: %d rows, %d bytes; want d's one", h.len(), h.bytes)
	}
	// The queue of taken rows is compacted, not kept for ever, behind a
	// row still held as well as once they reach its head.
	for i := range 5000 {
		h.put(hotRow("e", i, 1, 200, 1), 200)
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
		h.put(hotRow("f", i, 1, 300, 1), 300)
		if _, ok := h.take("o", "f", int64(i), int64(i), 300, 300, nil, agentscope.OutboxEntry{}); !ok {
			t.Fatal("take f")
		}
	}
	if len(h.fifo) > 2100 || h.len() != 0 || h.bytes != 0 {
		t.Fatalf("queue holds %d slots, %d rows, %d bytes after all were taken", len(h.fifo), h.len(), h.bytes)
	}
}
