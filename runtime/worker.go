package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
)

// runWorker is River's worker of runArgs jobs.
type runWorker struct {
	river.WorkerDefaults[runArgs]
	rt *Runtime
}

// Timeout bounds a job by its run's timeout plus a grace (a tenth, at
// least 1 s and at most 30 s) in which the attempt records how it ended;
// River's rescuer treats the job as stuck only after that.
func (w *runWorker) Timeout(job *river.Job[runArgs]) time.Duration {
	return jobTimeout(timeoutOf(job.Args))
}

// jobTimeout is River's timeout of a job whose run may take t.
func jobTimeout(t time.Duration) time.Duration {
	return t + min(max(t/10, time.Second), 30*time.Second)
}

// NextRetry schedules the next attempt with the runtime's backoff.
func (w *runWorker) NextRetry(job *river.Job[runArgs]) time.Time {
	return time.Now().Add(w.rt.opts.RetryBackoff(job.Attempt))
}

// Work executes one attempt of a run.
func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	return w.rt.work(ctx, job)
}

// recordTimeout bounds the commits that record how an attempt ended; they
// run even when the attempt's context has ended.
const recordTimeout = 30 * time.Second

// work runs one attempt: it claims the attempt, moves the run to running,
// executes the agent loop and records the outcome. The returned error tells
// River what to do: nil when the run reached an end state (or had one
// already), river.JobCancel for permanent failures, and the failure itself
// for transient ones, which River retries with backoff.
func (rt *Runtime) work(ctx context.Context, job *river.Job[runArgs]) error {
	began := time.Now() // the run's timeout counts from here, as River's does
	org, sid := job.Args.OrgID, job.Args.SessionID
	log := rt.log.With("session_id", sid, "attempt", job.Attempt)
	run, err := rt.store.GetRun(ctx, org, sid)
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return river.JobCancel(err)
	} else if err != nil {
		return err
	}
	if run.Status.Terminal() {
		return nil // cancelled while queued, or finished by an earlier attempt
	}
	// A job that took the run over from a dead worker numbers its
	// attempts on from the attempts before it.
	attempt, maxAttempts := job.Args.AttemptBase+job.Attempt, job.Args.AttemptBase+job.MaxAttempts
	leaseTaken := time.Now()
	claimed, err := rt.store.ClaimAttempt(ctx, org, sid, job.ID, attempt, rt.now().Add(rt.opts.RunLease))
	if err != nil {
		return err
	}
	if !claimed {
		return river.JobCancel(fmt.Errorf("attempt %d of run %s was superseded by a later attempt or another job", attempt, sid))
	}
	// leaseCtx ends if another worker takes the run over (this worker's
	// lease lapsed): the attempt is interrupted and records no outcome.
	leaseCtx, loseLease := context.WithCancelCause(ctx)
	defer loseLease(nil)
	hold := rt.holdLease(org, sid, attempt, leaseTaken, func() { loseLease(errLeaseLost) })
	defer hold.stop()
	leaseLost := func() bool { return errors.Is(context.Cause(leaseCtx), errLeaseLost) }
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer rcancel()

	agent, err := rt.store.GetAgent(ctx, org, run.Agent)
	var spec Spec
	if err == nil {
		spec, err = ParseSpec(agent.Spec)
	}
	if err != nil {
		return rt.fail(rctx, org, sid, nil, fmt.Sprintf("cannot load agent %q's definition: %s", run.Agent, agentscope.ErrorMessage(err)))
	}

	var start []agentscope.Event
	if run.Status == agentscope.StatusRunning {
		why := lostAttemptReason(job, attempt)
		if job.Args.TakeOver != "" && job.Attempt == 1 {
			why = fmt.Sprintf("%s; taken over as attempt %d", job.Args.TakeOver, attempt)
		}
		start = append(start, agentscope.Event{Type: agentscope.RunRetried, Error: why,
			Attributes: map[string]any{"attempt": attempt}})
	}
	start = append(start, agentscope.Event{Type: agentscope.RunStarted, Attributes: map[string]any{"attempt": attempt, "max_attempts": maxAttempts}})
	if run.StartedAt == nil {
		start = append(start, agentscope.Event{Type: agentscope.SessionStarted, Agent: run.Agent, Input: run.Input})
	}
	j := newJournal(rt.rec, org, sid, rt.now)
	defer j.close()
	if _, err := j.finish(rctx, &agentscope.RunUpdate{Status: agentscope.StatusRunning, From: []agentscope.RunStatus{agentscope.StatusQueued, agentscope.StatusRunning}}, start...); err != nil {
		if agentscope.ErrorCode(err) == agentscope.ECONFLICT {
			return nil // cancelled in the meantime
		}
		return err
	}
	if run.Status == agentscope.StatusQueued && attempt == 1 {
		rt.opts.Metrics.RunQueued(began.Sub(run.CreatedAt))
	}

	execCtx, cancel := context.WithCancelCause(leaseCtx)
	execCtx, cancelTimeout := context.WithDeadlineCause(execCtx, began.Add(timeoutOf(job.Args)), errRunTimeout)
	rt.mu.Lock()
	rt.active[activeKey(org, sid)] = cancel
	rt.mu.Unlock()
	x := &Execution{rt: rt, org: org, sid: sid, run: run, spec: spec, attempt: attempt, j: j, log: log}
	var output any
	var runErr error
	if spec.Kind == "" {
		output, runErr = x.execute(execCtx)
	} else if ex := rt.given.Kinds[spec.Kind]; ex != nil {
		output, runErr = ex.Execute(execCtx, x)
	} else {
		runErr = Permanentf("this worker has no executor of kind %q", spec.Kind)
	}
	cause := context.Cause(execCtx)
	cancelTimeout()
	cancel(nil)
	rt.mu.Lock()
	delete(rt.active, activeKey(org, sid))
	rt.mu.Unlock()

	// The session's cost: what earlier attempts recorded (the run's cost
	// when this one began) and this attempt's calls.
	totals := x.totalsAttributes(run.CostUSD + x.cost)
	if leaseLost() || !hold.confirm(rctx) {
		// Another worker took the run over: its attempt ends the run.
		_ = j.flush(rctx)
		log.Warn("attempt stopped: the run was taken over after this worker's lease lapsed")
		return river.JobCancel(errLeaseLost)
	}
	if runErr == nil {
		out, _ := json.Marshal(output)
		_, err := j.finish(rctx, &agentscope.RunUpdate{Status: agentscope.StatusCompleted, From: []agentscope.RunStatus{agentscope.StatusRunning}, Output: out},
			agentscope.Event{Type: agentscope.SessionCompleted, Status: string(agentscope.StatusCompleted), Output: out, Attributes: totals})
		if err == nil || rt.runEnded(rctx, org, sid) {
			return nil
		}
		return err
	}
	_ = j.flush(rctx) // what the attempt recorded precedes its outcome
	if errors.Is(cause, errCancelled) || rt.runEnded(rctx, org, sid) {
		log.Info("run stopped: it was cancelled or ended elsewhere")
		return river.JobCancel(errCancelled)
	}
	var perm *permanentError
	switch {
	case errors.Is(cause, errRunTimeout) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The run's timeout, or River's (a little later) if recording the
		// start took that long.
		return rt.fail(rctx, org, sid, totals, fmt.Sprintf("the run timed out after %s (limits.timeout)", timeoutOf(job.Args)))
	case ctx.Err() != nil:
		// The worker is shutting down (the run's own end was ruled out
		// above): the run is retried, here or elsewhere.
		return rt.retry(rctx, attempt, maxAttempts, org, sid, "the worker stopped during the run: "+context.Cause(ctx).Error(), runErr)
	case errors.As(runErr, &perm):
		return rt.fail(rctx, org, sid, totals, perm.msg)
	case attempt >= maxAttempts:
		return rt.fail(rctx, org, sid, totals, fmt.Sprintf("failed after %d attempts: %s", attempt, runErr))
	default:
		return rt.retry(rctx, attempt, maxAttempts, org, sid, runErr.Error(), runErr)
	}
}

var errRunTimeout = errors.New("run timeout")

// runEnded reports whether the run has already reached an end state.
func (rt *Runtime) runEnded(ctx context.Context, org, sid string) bool {
	run, err := rt.store.GetRun(ctx, org, sid)
	return err == nil && run.Status.Terminal()
}

// fail ends the run as failed with RunFailed and SessionCompleted, and
// tells River not to retry.
func (rt *Runtime) fail(ctx context.Context, org, sid string, totals map[string]any, reason string) error {
	_, err := rt.rec.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: sid, Bookkeeping: true,
		Events: []agentscope.Event{
			{EventID: agentscope.NewEventID(), Type: agentscope.RunFailed, TS: rt.now(), Error: reason},
			{EventID: agentscope.NewEventID(), Type: agentscope.SessionCompleted, TS: rt.now(), Status: string(agentscope.StatusFailed), Error: reason, Attributes: totals},
		},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusFailed, From: []agentscope.RunStatus{agentscope.StatusQueued, agentscope.StatusRunning}, Error: reason},
	})
	if err != nil && agentscope.ErrorCode(err) != agentscope.ECONFLICT {
		return err // River retries; the next attempt records the failure again
	}
	return river.JobCancel(errors.New(reason))
}

// retry records RunRetried, moves the run back to queued and returns cause
// so River schedules the next attempt.
func (rt *Runtime) retry(ctx context.Context, attempt, maxAttempts int, org, sid, reason string, cause error) error {
	_, err := rt.rec.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: sid, Bookkeeping: true,
		Events: []agentscope.Event{{EventID: agentscope.NewEventID(), Type: agentscope.RunRetried, TS: rt.now(), Error: reason,
			Attributes: map[string]any{"attempt": attempt, "max_attempts": maxAttempts}}},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusQueued, From: []agentscope.RunStatus{agentscope.StatusRunning}},
	})
	if agentscope.ErrorCode(err) == agentscope.ECONFLICT {
		return river.JobCancel(cause) // it ended meanwhile
	}
	return cause
}

// lostAttemptReason explains why a run found running is attempted again:
// its previous attempt ended without recording an outcome.
func lostAttemptReason(job *river.Job[runArgs], attempt int) string {
	why := "its worker stopped or lost contact"
	if n := len(job.Errors); n > 0 && job.Errors[n-1].Error != "" {
		why = job.Errors[n-1].Error
	}
	return fmt.Sprintf("attempt %d did not finish (%s); attempting again", attempt-1, why)
}
