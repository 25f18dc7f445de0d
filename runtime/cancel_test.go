package runtime_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
)

// TestCancelQueued cancels a run before any worker took it: it ends as
// cancelled and its job is cancelled with it, so it never starts.
func TestCancelQueued(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, b.prepare(t), config{}) // no workers
			n.createAgent(t, "a", analyst)
			n.start(t, "a", "q", "hi")
			run, err := n.svc.CancelRun(n.ctx(), "q")
			if err != nil || run.Status != agentscope.StatusCancelled {
				t.Fatalf("cancel: %+v %v", run, err)
			}
			if got := types(n.events(t, "q")); got != "RunQueued RunCancelled SessionCompleted" {
				t.Errorf("timeline %s", got)
			}
			if job := jobOf(t, n, "q"); job.State != rivertype.JobStateCancelled {
				t.Errorf("job state %s", job.State)
			}
			// Cancelling again answers with the cancelled run.
			if again, err := n.svc.CancelRun(n.ctx(), "q"); err != nil || again.Status != agentscope.StatusCancelled {
				t.Errorf("second cancel: %+v %v", again, err)
			}
		})
	}
}

// TestCancelRunning cancels a run whose model call is in flight, from the
// process executing it and from another one: the run ends cancelled at
// once, the call is abandoned, and nothing is recorded after the end.
func TestCancelRunning(t *testing.T) {
	for _, b := range backends() {
		for _, where := range []string{"same process", "other process"} {
			t.Run(b.name+"/"+where, func(t *testing.T) {
				t.Parallel()
				llm := llmtest.New()
				defer llm.Close()
				hold := make(chan struct{})
				defer close(hold)
				llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "late", Hold: hold} })
				open := b.prepare(t)
				worker := newNode(t, open, config{workers: 1, llm: llm})
				canceller := worker
				if where == "other process" {
					canceller = newNode(t, open, config{llm: llm})
				}
				worker.createAgent(t, "a", analyst)
				worker.start(t, "a", "r", "hi")
				select {
				case <-llm.Received():
				case <-time.After(10 * time.Second):
					t.Fatal("the model was never called")
				}
				// The call is on record (the journal commits it while the call
				// is in flight) before the run is cancelled mid-call.
				eventually(t, 10*time.Second, "ModelInvoked is committed", func() bool {
					return len(find(worker.events(t, "r"), agentscope.ModelInvoked)) == 1
				})
				run, err := canceller.svc.CancelRun(canceller.ctx(), "r")
				if err != nil || run.Status != agentscope.StatusCancelled {
					t.Fatalf("cancel: %+v %v", run, err)
				}
				// The worker gives up the call and River marks the job cancelled.
				eventually(t, 10*time.Second, "the job is cancelled", func() bool { return jobOf(t, worker, "r").State == rivertype.JobStateCancelled })
				evs := worker.events(t, "r")
				if got := types(evs); got != "RunQueued RunStarted SessionStarted ModelInvoked RunCancelled SessionCompleted" {
					t.Errorf("timeline %s", got)
				}
				if r, _ := worker.store.GetRun(context.Background(), org, "r"); r.Status != agentscope.StatusCancelled {
					t.Errorf("status %s", r.Status)
				}
			})
		}
	}
}

// jobOf returns the River job of a managed run.
func jobOf(t testing.TB, n *node, sid string) *rivertype.JobRow {
	t.Helper()
	m, err := n.store.GetManagedRun(context.Background(), org, sid)
	if err != nil {
		t.Fatal(err)
	}
	job, err := n.rt.River().JobGet(context.Background(), m.JobID)
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// TestSweeperFailsOrphans ends a run's job behind the runtime's back (as
// the rescuer does when a lost run has no attempts left): the sweeper fails
// the run with the reason instead of leaving it running.
func TestSweeperFailsOrphans(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			open := b.prepare(t)
			n := newNode(t, open, config{})
			n.createAgent(t, "a", analyst)
			n.start(t, "a", "orphan", "hi")
			n.start(t, "a", "fine", "hi")
			m, _ := n.store.GetManagedRun(context.Background(), org, "orphan")
			if _, err := n.rt.River().JobCancel(context.Background(), m.JobID); err != nil {
				t.Fatal(err)
			}
			// A sweeper whose clock is past the grace period of new runs.
			later := newNode(t, open, config{opts: func(o *runtime.Options) { o.Now = func() time.Time { return time.Now().Add(time.Hour) } }})
			if err := later.rt.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			run, _ := n.store.GetRun(context.Background(), org, "orphan")
			if run.Status != agentscope.StatusFailed || run.Error != "the run did not finish: its job is cancelled" {
				t.Errorf("orphan: %s %q", run.Status, run.Error)
			}
			if got := types(n.events(t, "orphan")); got != "RunQueued RunFailed SessionCompleted" {
				t.Errorf("orphan timeline %s", got)
			}
			if run, _ := n.store.GetRun(context.Background(), org, "fine"); run.Status != agentscope.StatusQueued {
				t.Errorf("a run with a live job was swept: %s", run.Status)
			}
		})
	}
}

// TestWorkerShutdownRequeues stops a worker while its run's model call is
// in flight: once the stop timeout has passed the run is interrupted,
// queued again with RunRetried, and another worker completes it.
func TestWorkerShutdownRequeues(t *testing.T) {
	t.Parallel()
	llm := llmtest.New()
	defer llm.Close()
	hold := make(chan struct{})
	defer close(hold)
	llm.Script(llmtest.Reply{Content: "never", Hold: hold}, llmtest.Reply{Content: "done", Usage: llmtest.Usage{PromptTokens: 3, CompletionTokens: 1}})
	open := backends()[0].prepare(t)
	leaving := newNode(t, open, config{workers: 1, llm: llm, opts: func(o *runtime.Options) { o.StopTimeout = 50 * time.Millisecond }})
	leaving.createAgent(t, "a", analyst)
	leaving.start(t, "a", "moved", "hi")
	<-llm.Received()
	if err := leaving.rt.Close(); err != nil {
		t.Fatal(err)
	}
	if run, _ := leaving.store.GetRun(context.Background(), org, "moved"); run.Status != agentscope.StatusQueued {
		t.Fatalf("after the stop the run is %s %q", run.Status, run.Error)
	}
	newNode(t, open, config{workers: 1, llm: llm})
	run := leaving.wait(t, "moved", 20*time.Second)
	evs := leaving.events(t, "moved")
	if run.Status != agentscope.StatusCompleted || len(find(evs, agentscope.RunRetried)) != 1 || !strings.Contains(find(evs, agentscope.RunRetried)[0].Error, "the worker stopped during the run") {
		t.Fatalf("run %s, timeline %s", run.Status, types(evs))
	}
}
