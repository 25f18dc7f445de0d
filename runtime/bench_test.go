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
