package runtime_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/runtime/runtimetest"
)

// The crash test runs a worker in a child process — this test binary,
// re-executed in worker mode — and kills it with SIGKILL mid-run.
const workerModeEnv = "AGENTSCOPE_RUNTIME_TEST_WORKER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(workerModeEnv); spec != "" {
		os.Exit(runWorkerProcess(spec))
	}
	os.Exit(m.Run())
}

// runWorkerProcess is the child: a runtime with one worker on the database
// and model server named in spec ("backend|dsn|llm-url", and "|lease"
// for a run lease other than the default), which never leads River (so
// the parent's next worker leads at once) and runs until it is killed.
func runWorkerProcess(spec string) int {
	parts := strings.SplitN(spec, "|", 4)
	var lease time.Duration
	if len(parts) == 4 {
		lease, _ = time.ParseDuration(parts[3])
	}
	st, withPool, closeStore, err := openStore(parts[0], parts[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer closeStore()
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub(), Committers: committers(st)})
	opts := runtime.Options{Store: st, Recorder: rec, Workers: 1, RunLease: lease,
		LLM: runtime.LLMConfig{BaseURL: parts[2], APIKey: "test-key"},
		River: func(c *river.Config) {
			fastRiver(c)
			c.LeaderElectionDisabled = true
		}}
	withPool(&opts)
	rt, err := runtime.New(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := rt.Start(context.Background(), runtime.Work{}); err != nil { // its runs use no tools
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	return 0
}

// killedMidCall starts a run of an agent with timeout on a worker in a
// child process (with a run lease other than the default if lease is not
// empty), kills the child with SIGKILL while the run's model call is in
// flight and on record, and returns the node that queued the run (it
// executes none), the model server, whose next reply answers, and the
// database's opener. The run is left running.
func killedMidCall(t *testing.T, b backend, sid, timeout, lease string) (*node, *llmtest.Server, runtimetest.Opener) {
	t.Helper()
	llm := llmtest.New()
	t.Cleanup(llm.Close)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	llm.Script(
		llmtest.Reply{Content: "never sent", Hold: hold},
		llmtest.Reply{Content: "recovered", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 1}},
	)
	dsn := b.fresh(t)
	open := b.opener(dsn)
	front := newNode(t, open, config{llm: llm}) // queues runs, executes none
	spec := analyst
	spec.Tools = nil
	spec.Limits.Timeout = timeout
	front.createAgent(t, "a", spec)

	mode := b.name + "|" + dsn + "|" + llm.URL
	if lease != "" {
		mode += "|" + lease
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), workerModeEnv+"="+mode)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	front.start(t, "a", sid, "hi")
	select {
	case <-llm.Received():
	case <-time.After(30 * time.Second):
		t.Fatal("the child never called the model")
	}
	// Kill it mid-call, once the call is on record (the journal commits
	// while the call is in flight).
	eventually(t, 10*time.Second, "ModelInvoked is committed", func() bool {
		return len(find(front.events(t, sid), agentscope.ModelInvoked)) == 1
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if run, _ := front.store.GetRun(context.Background(), org, sid); run.Status != agentscope.StatusRunning {
		t.Fatalf("after the kill the run is %s", run.Status)
	}
	return front, llm, open
}

// TestWorkerKilledMidRun kills the process executing a run while its model
// call is in flight. River's rescuer finds the job stuck once the run's
// timeout has passed, and another worker retries it: the run records why it
// was attempted again and completes; it is never left running.
func TestWorkerKilledMidRun(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			if testing.Short() && b.name == "postgres" {
				t.Skip("-short: the crash test runs on SQLite only")
			}
			t.Parallel()
			front, llm, open := killedMidCall(t, b, "crash", "1s", "")
			// The job counts as stuck once its timeout (the run's 1s plus
			// a grace of 1s) has passed since the attempt began.
			job := jobOf(t, front, "crash")
			eventually(t, 10*time.Second, "the job's timeout has passed", func() bool { return time.Since(*job.AttemptedAt) > 2100*time.Millisecond })
			// A new worker leads River, rescues the job and retries it.
			newNode(t, open, config{workers: 1, llm: llm, river: func(c *river.Config) {
				c.JobTimeout = time.Second
				c.RescueStuckJobsAfter = time.Second
			}})
			run := front.wait(t, "crash", 30*time.Second)
			evs := front.events(t, "crash")
			want := "RunQueued RunStarted SessionStarted ModelInvoked RunRetried RunStarted ModelInvoked ModelCompleted CostRecorded SessionCompleted"
			if run.Status != agentscope.StatusCompleted || types(evs) != want {
				t.Fatalf("run %s %q, timeline\n got %s\nwant %s", run.Status, run.Error, types(evs), want)
			}
			retried := find(evs, agentscope.RunRetried)[0]
			if !strings.Contains(retried.Error, "attempt 1 did not finish (Stuck job rescued by JobRescuer)") {
				t.Errorf("RunRetried %q", retried.Error)
			}
			if started := find(evs, agentscope.RunStarted); attr(started[1], "attempt") != "2" {
				t.Errorf("second attempt %v", started[1].Attributes)
			}
		})
	}
}

// TestRunTakenOverWhenLeaseLapses kills the process executing a run, whose
// timeout is 10 minutes, mid-call: River's rescuer would wait that long,
// but the run's lease (1s here) lapses and another worker takes the run
// over as attempt 2 under a new job within about the lease and a third.
// The run completes once; the lost attempt's events stay, followed by
// RunRetried saying why, and the model's answer is recorded once.
func TestRunTakenOverWhenLeaseLapses(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			if testing.Short() && b.name == "postgres" {
				t.Skip("-short: the crash test runs on SQLite only")
			}
			t.Parallel()
			front, llm, open := killedMidCall(t, b, "lease", "10m", "1s")
			killed := time.Now()
			before, err := front.store.GetManagedRun(context.Background(), org, "lease")
			if err != nil {
				t.Fatal(err)
			}
			// A worker with the same lease takes it over; River's rescue
			// stays at its 10-minute horizon.
			newNode(t, open, config{workers: 1, llm: llm, opts: func(o *runtime.Options) { o.RunLease = time.Second }})
			run := front.wait(t, "lease", 30*time.Second)
			took := time.Since(killed)
			evs := front.events(t, "lease")
			want := "RunQueued RunStarted SessionStarted ModelInvoked RunRetried RunStarted ModelInvoked ModelCompleted CostRecorded SessionCompleted"
			if run.Status != agentscope.StatusCompleted || types(evs) != want {
				t.Fatalf("run %s %q, timeline\n got %s\nwant %s", run.Status, run.Error, types(evs), want)
			}
			if took > 20*time.Second {
				t.Errorf("taken over %s after the kill, with a 1s lease", took)
			}
			retried := find(evs, agentscope.RunRetried)[0]
			if !strings.Contains(retried.Error, "attempt 1's worker stopped renewing its lease for 1s") || !strings.Contains(retried.Error, "taken over as attempt 2") {
				t.Errorf("RunRetried %q", retried.Error)
			}
			if started := find(evs, agentscope.RunStarted); attr(started[1], "attempt") != "2" || attr(started[1], "max_attempts") != "3" {
				t.Errorf("second attempt %v", started[1].Attributes)
			}
			after, err := front.store.GetManagedRun(context.Background(), org, "lease")
			if err != nil || after.JobID == before.JobID || after.Attempt != 2 {
				t.Errorf("managed run before %+v, after %+v (%v): want a new job at attempt 2", before, after, err)
			}
			// The dead worker's job, rescued at last, would find the run
			// handed over and not execute it.
			if ok, err := front.store.ClaimAttempt(context.Background(), org, "lease", before.JobID, 3, time.Now()); ok || err != nil {
				t.Errorf("the old job claimed attempt 3: %v %v", ok, err)
			}
		})
	}
}
