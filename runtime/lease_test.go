package runtime_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
)

// TestAttemptThatLostItsLeaseStops: a worker that is alive but whose lease
// lapsed (as if cut off from the database longer than the lease) loses
// its run to another node's takeover. At its next renewal it learns so,
// interrupts the model call it is waiting on and records no outcome; the
// attempt that took over ends the run, once.
func TestAttemptThatLostItsLeaseStops(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			llm := llmtest.New()
			defer llm.Close()
			hold := make(chan struct{})
			defer close(hold)
			llm.Script(
				llmtest.Reply{Content: "too late", Hold: hold},
				llmtest.Reply{Content: "recovered", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 1}},
			)
			open := b.prepare(t)
			lease := func(o *runtime.Options) { o.RunLease = time.Second }
			first := newNode(t, open, config{workers: 1, llm: llm, opts: lease})
			spec := analyst
			spec.Tools = nil
			first.createAgent(t, "a", spec)
			first.start(t, "a", "zombie", "hi")
			select {
			case <-llm.Received():
			case <-time.After(30 * time.Second):
				t.Fatal("the worker never called the model")
			}
			ctx := context.Background()
			before, err := first.store.GetManagedRun(ctx, org, "zombie")
			if err != nil || before.Attempt != 1 {
				t.Fatalf("managed run %+v %v", before, err)
			}
			// The lease lapses (the first worker keeps renewing it, so
			// this is retried until the takeover wins the race), and a
			// node without workers takes the run over.
			second := newNode(t, open, config{llm: llm, opts: lease})
			eventually(t, 30*time.Second, "the run is taken over", func() bool {
				if _, err := first.store.WriteDB().ExecContext(ctx, `UPDATE managed_runs SET lease_expires_at = 1 WHERE session_id = 'zombie'`); err != nil {
					t.Fatal(err)
				}
				if err := second.rt.TakeOverLapsed(ctx); err != nil {
					t.Fatal(err)
				}
				m, err := first.store.GetManagedRun(ctx, org, "zombie")
				return err == nil && m.JobID != before.JobID
			})
			// The first worker stops its attempt, then executes the new
			// job (it is the only worker).
			run := first.wait(t, "zombie", 30*time.Second)
			evs := first.events(t, "zombie")
			if run.Status != agentscope.StatusCompleted || string(run.Output) != `"recovered"` {
				t.Fatalf("run %s %q output %s; timeline %s", run.Status, run.Error, run.Output, types(evs))
			}
			if n := len(find(evs, agentscope.SessionCompleted)); n != 1 {
				t.Errorf("%d SessionCompleted; timeline %s", n, types(evs))
			}
			if n := len(find(evs, agentscope.RunFailed)); n != 0 {
				t.Errorf("the interrupted attempt recorded a failure; timeline %s", types(evs))
			}
			started, retried := find(evs, agentscope.RunStarted), find(evs, agentscope.RunRetried)
			if len(started) != 2 || attr(started[1], "attempt") != "2" || len(retried) != 1 || !strings.Contains(retried[0].Error, "attempt 1's worker stopped renewing its lease") {
				t.Errorf("timeline %s; RunRetried %v", types(evs), retried)
			}
			// Only the answer of the attempt that took over is recorded.
			for _, mc := range find(evs, agentscope.ModelCompleted) {
				if strings.Contains(string(mc.Output), "too late") {
					t.Errorf("the interrupted call's answer was recorded: %s", mc.Output)
				}
			}
		})
	}
}
