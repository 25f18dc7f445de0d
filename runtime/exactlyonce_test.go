package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// TestEachRunExecutedOnce queues many runs from several processes, each
// with its own workers on one database, against a model that answers at
// once: every run completes, and each was executed exactly once (one
// attempt, one model call per run, as the model server saw it too).
func TestEachRunExecutedOnce(t *testing.T) {
	const workers = 4
	runs := 500
	if testing.Short() {
		runs = 100
	}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			llm := llmtest.New()
			defer llm.Close()
			llm.Handle(func(r llmtest.Request) llmtest.Reply {
				return llmtest.Reply{Content: "done " + r.LastUser(), Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 2}}
			})
			open := b.prepare(t)
			if b.name == "sqlite" {
				// The workers share one handle: SQLite has one writer, and
				// separate handles would only add lock waits between them.
				// They are still separate River clients that coordinate
				// only through the database. (Other tests run SQLite
				// workers in separate handles and processes.)
				st, withPool := open(t)
				open = func(testing.TB) (*sqlstore.Store, func(*runtime.Options)) { return st, withPool }
			}
			var nodes []*node
			for range workers {
				nodes = append(nodes, newNode(t, open, config{workers: 4, llm: llm}))
			}
			spec := analyst
			spec.Tools = nil
			nodes[0].createAgent(t, "bulk", spec)

			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, runs)
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := g; i < runs; i += 8 {
						n := nodes[i%workers]
						in, _ := json.Marshal(fmt.Sprintf("run %d", i))
						if _, err := n.svc.StartRun(n.ctx(), service.StartRunInput{Agent: "bulk", SessionID: fmt.Sprintf("b%04d", i), Input: in}); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			// A liveness bound, generous: 500 runs under -race on a loaded
			// CI machine took up to ~2 minutes on SQLite; what the test
			// asserts is that each ran exactly once.
			eventually(t, 5*time.Minute, "every run completes", func() bool {
				for _, s := range []agentscope.RunStatus{agentscope.StatusQueued, agentscope.StatusRunning} {
					page, err := nodes[0].store.ListRuns(context.Background(), org, agentscope.RunFilter{Status: s, Limit: 1})
					if err != nil || len(page.Runs) > 0 {
						return false
					}
				}
				return true
			})
			t.Logf("%d runs on %d workers in %s", runs, workers, time.Since(start).Round(time.Millisecond))

			calls := map[string]int{}
			for _, r := range llm.Requests() {
				calls[r.LastUser()]++
			}
			for i := range runs {
				sid := fmt.Sprintf("b%04d", i)
				if n := calls[fmt.Sprintf("run %d", i)]; n != 1 {
					t.Errorf("%s: the model was called %d times", sid, n)
				}
				evs := nodes[0].events(t, sid)
				if got := types(evs); got != "RunQueued RunStarted SessionStarted ModelInvoked ModelCompleted CostRecorded SessionCompleted" {
					t.Errorf("%s: %s", sid, got)
				}
			}
			if len(llm.Requests()) != runs {
				t.Errorf("%d model calls for %d runs", len(llm.Requests()), runs)
			}
		})
	}
}
