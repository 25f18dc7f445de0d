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
// and model server named in spec ("backend|dsn|llm-url"), which never
// leads River (so the parent's next worker leads at once) and runs until
// it is killed.
func runWorkerProcess(spec string) int {
	parts := strings.SplitN(spec, "|", 3)
	st, withPool, closeStore, err := openStore(parts[0], parts[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer closeStore()
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub(), Committers: committers(st)})
	opts := runtime.Options{Store: st, Recorder: rec, Workers: 1,
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
			llm := llmtest.New()
			defer llm.Close()
			hold := make(chan struct{})
			defer close(hold)
			llm.Script(
				llmtest.Reply{Content: "never sent", Hold: hold},
				llmtest.Reply{Content: "recovered", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 1}},
			)
			dsn := b.fresh(t)
			open := b.opener(dsn)
			front := newNode(t, open, config{llm: llm}) // queues runs, executes none
			spec := analyst
			spec.Tools = nil
			spec.Limits.Timeout = "1s"
			front.createAgent(t, "a", spec)

			child := exec.Command(os.Args[0], "-test.run=^$")
			child.Env = append(os.Environ(), workerModeEnv+"="+b.name+"|"+dsn+"|"+llm.URL)
			child.Stderr = os.Stderr
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

			front.start(t, "a", "crash", "hi")
			select {
			case <-llm.Received():
			case <-time.After(30 * time.Second):
				t.Fatal("the child never called the model")
			}
			// Kill it mid-call, once the call is on record (the journal
			// commits while the call is in flight).
			eventually(t, 10*time.Second, "ModelInvoked is committed", func() bool {
				return len(find(front.events(t, "crash"), agentscope.ModelInvoked)) == 1
			})
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = child.Wait()
			if run, _ := front.store.GetRun(context.Background(), org, "crash"); run.Status != agentscope.StatusRunning {
				t.Fatalf("after the kill the run is %s", run.Status)
			}
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
