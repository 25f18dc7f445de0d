package sqlstore

import (
	"fmt"
	"testing"

	"github.com/agentscope/agentscope"
)

// BenchmarkHotOutbox is the hot outbox's cost per event of a commit kept
// and its rows claimed: 8 sessions' rows of 500 events, as the forwarding
// benchmarks' writers commit them.
func BenchmarkHotOutbox(b *testing.B) {
	const sessions, perRow = 8, 500
	h := newHotOutbox(hotOutboxBytes, hotOutboxAge)
	h.claiming.Store(true)
	names := make([]string, sessions)
	for i := range names {
		names[i] = fmt.Sprintf("session-%d", i)
	}
	body := make([]byte, 400)
	out := make([]agentscope.OutboxEntry, 0, sessions*perRow)
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		runs := make([]hotRun, sessions)
		events := make([]hotEvent, sessions*perRow)
		for i := range runs {
			from := int64(n*perRow + 1)
			runs[i] = hotRun{key: hotKey{"org", names[i], from}, to: from + perRow - 1, enqueued: int64(n), events: events[i*perRow : (i+1)*perRow]}
			for j := range runs[i].events {
				runs[i].events[j] = hotEvent{eventID: "e", typ: "ModelInvoked", agent: "bot", ts: int64(n), body: body}
			}
			runs[i].bytes = perRow * len(body)
		}
		h.put(runs, int64(n))
		out = out[:0]
		for i := range runs {
			var ok bool
			from := int64(n*perRow + 1)
			if out, ok = h.take("org", names[i], from, from+perRow-1, int64(n), int64(n), out, agentscope.OutboxEntry{}); !ok {
				b.Fatal("missed a row")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sessions*perRow), "ns/event")
}
