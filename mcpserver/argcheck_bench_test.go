package mcpserver

import (
	"encoding/json"
	"testing"
)

func BenchmarkArgChecker(b *testing.B) {
	c := newArgChecker(recordEventSchema())
	args := json.RawMessage(`{"session_id":"c3","type":"ToolCalled","tool":"search","call_id":"17","event_id":"c3-17"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.object(args); err != nil {
			b.Fatal(err)
		}
	}
}
