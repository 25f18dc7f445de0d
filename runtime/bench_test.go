package runtime_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
)

// BenchmarkQueueThroughput measures runs per second from start_run to
// completed, on one process with 8 workers and a model that answers at
// once: the cost of the queue, the admission transaction and the recording
// of a one-call run.
//
//	go test -run '^$' -bench QueueThroughput -benchtime 200x ./runtime/
func BenchmarkQueueThroughput(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			llm := llmtest.New()
			defer llm.Close()
			llm.Handle(func(r llmtest.Request) llmtest.Reply {
				return llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 1}}
			})
			n := newNode(b, be.prepare(b), config{workers: 8, llm: llm})
			spec := analyst
			spec.Tools = nil
			n.createAgent(b, "bench", spec)
			sub := n.hub.Subscribe(org, "")
			defer sub.Close()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := g; i < b.N; i += 4 {
						if _, err := n.svc.StartRun(n.ctx(), service.StartRunInput{Agent: "bench", SessionID: fmt.Sprintf("q%d", i), Input: json.RawMessage(`"go"`)}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			done := 0
			for done < b.N {
				select {
				case <-sub.Ready:
				case <-time.After(time.Minute):
					b.Fatalf("%d of %d runs completed", done, b.N)
				}
				evs, _ := sub.Take()
				for _, ev := range evs {
					if ev.Type == agentscope.SessionCompleted {
						done++
					}
				}
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
		})
	}
}

// BenchmarkInvestigation measures an investigation's wall time on the
// embedded default, from investigate to the stored report, with a model
// that answers at once: the detectors, the evidence searches through a
// real `agentscope mcp` process (spawned once, then reused) and the
// recording. Target ≤ 300 ms.
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
// watcher's goroutine: see runtime/detect's BenchmarkLiveObserve).
func BenchmarkObserveBatch(b *testing.B) {
	ib := newInvestigator(b, backends()[0], invConfig{evidence: viaAgentScope, live: true})
	batch := make([]agentscope.Event, 32)
	for i := range batch {
		batch[i] = agentscope.Event{SessionID: "s", Seq: int64(i + 1), Type: agentscope.ToolCalled, Tool: "t", CallID: fmt.Sprint(i)}
	}
	for b.Loop() {
		ib.rt.Observe(org, batch)
	}
}
