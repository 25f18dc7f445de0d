package agentscope_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// benchEvent is a ModelCompleted as a recording agent sends it.
const benchEvent = `{"type":"ModelCompleted","session_id":"b0000000","event_id":"ev-01a20f88-fc63-767d-842f-2d1b863f739c","ts":"2026-10-01T00:00:00Z","span_id":"m1","provider":"anthropic","model":"claude-sonnet-4","duration_ms":1553.4,"tokens_in":1434,"tokens_out":36,"cache_read_tokens":1000,"finish_reason":"stop","attributes":{"temperature":0.2,"stream":true,"region":"eu"}}`

// BenchmarkDecodeEvent measures the validation of one event on the ingest
// path: DecodeEvent (POST /api/v1/events) and DecodeEventFields on an
// object already split (record_event), then ValidateEvent alone, as the
// recorder runs it on every event.
func BenchmarkDecodeEvent(b *testing.B) {
	b.Run("bytes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := agentscope.DecodeEvent([]byte(benchEvent)); err != nil {
				b.Fatal(err)
			}
		}
	})
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(benchEvent), &raw); err != nil {
		b.Fatal(err)
	}
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := agentscope.DecodeEventFields(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	ev, err := agentscope.DecodeEvent([]byte(benchEvent))
	if err != nil {
		b.Fatal(err)
	}
	ev.TS = time.Now().Add(-time.Minute)
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := agentscope.ValidateEvent(&ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
