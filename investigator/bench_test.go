package investigator_test

import (
	"fmt"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime/llmtest"
)

func BenchmarkInvestigation(b *testing.B) {
	ib := newInvestigator(b, backends()[0], invConfig{evidence: viaAgentScope})
	ib.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: reportJSON} })
	ib.loopingSession(b, "bench-loop")
	ib.investigate(b, "bench-loop") // spawns the MCP server
	b.ResetTimer()
	for b.Loop() {
		run, _ := ib.investigate(b, "bench-loop")
		if run.Status != agentscope.StatusCompleted {
			b.Fatalf("investigation %s: %s", run.Status, run.Error)
		}
	}
}

// BenchmarkObserveBatch measures what live detection adds to the commit
// path: the recorder's observer handing one committed batch of 32 events
// to the watcher. Target ≤ 1 ms p99 (the detectors themselves run in the
// watcher's goroutine: see investigator/detect's BenchmarkLiveObserve).
func BenchmarkObserveBatch(b *testing.B) {
	ib := newInvestigator(b, backends()[0], invConfig{evidence: viaAgentScope, live: true})
	batch := make([]agentscope.Event, 32)
	for i := range batch {
		batch[i] = agentscope.Event{SessionID: "s", Seq: int64(i + 1), Type: agentscope.ToolCalled, Tool: "t", CallID: fmt.Sprint(i)}
	}
	for b.Loop() {
		ib.watcher.Observe(org, batch)
	}
}
