package redact

import (
	"encoding/json"
	"testing"

	"github.com/agentscope/agentscope"
)

// BenchmarkEvent: the cost the ingest path pays per event, for an event
// with nothing to redact (the common case) and one with secrets.
func BenchmarkEvent(b *testing.B) {
	r := defaults(b, Rule{Name: "password", Path: "arguments.*.password"})
	clean := agentscope.Event{Type: agentscope.ToolCalled, Tool: "search", CallID: "c1",
		Arguments:  json.RawMessage(`{"query":"flights from Paris to Lisbon on 2026-12-04","max_results":10,"filters":{"nonstop":true,"cabin":"economy"}}`),
		Attributes: map[string]any{"framework": "langchain", "attempt": json.Number("1")}}
	dirty := clean
	dirty.Arguments = json.RawMessage(`{"query":"use ` + openAIKey + `","login":{"user":"a","password":"p"},"card":"4111 1111 1111 1111"}`)
	for _, bc := range []struct {
		name string
		ev   agentscope.Event
	}{{"clean", clean}, {"secrets", dirty}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Event(bc.ev)
			}
		})
	}
}
