package runtime

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/agentscope/agentscope"
)

// runArgs is a River job that executes one managed run.
type runArgs struct {
	OrgID     string `json:"org_id"`
	SessionID string `json:"session_id"`
	// TimeoutMS is the run's timeout, so River can bound the job and judge
	// it stuck without reading the agent's definition.
	TimeoutMS int64 `json:"timeout_ms"`
	// AttemptBase is the attempts the run made under earlier jobs: a job
	// that took the run over from a dead worker (takeOver) numbers its
	// attempts on from there.
	AttemptBase int `json:"attempt_base,omitempty"`
	// TakeOver says why the run was taken over, for its RunRetried.
	TakeOver string `json:"take_over,omitempty"`
}

// Kind implements river.JobArgs.
func (runArgs) Kind() string { return "agentscope_run" }

// Launch implements service.Launcher: it admits run (its session, input and
// metadata) against the agent's budgets, then creates it (queued, with
// RunQueued) and its River job in one transaction, and returns without
// waiting for a worker.
func (rt *Runtime) Launch(ctx context.Context, orgID string, agent agentscope.Agent, run agentscope.Run) (agentscope.Run, error) {
	spec, err := ParseSpec(agent.Spec)
	if err != nil {
		return agentscope.Run{}, agentscope.Errorf(agentscope.EINVALID, "agent %q has an invalid definition: %s", agent.Name, agentscope.ErrorMessage(err))
	}
	now := rt.now()
	events := []agentscope.Event{{Type: agentscope.RunQueued, TS: now, Input: run.Input,
		Attributes: map[string]any{"queue": rt.opts.Queue, "max_attempts": rt.opts.MaxAttempts}}}
	warnings, err := rt.softBudgetWarnings(ctx, orgID, agent.Name, now)
	if err != nil {
		return agentscope.Run{}, err
	}
	events = append(events, warnings...)
	for i := range events {
		events[i].EventID = agentscope.NewEventID()
		if err := agentscope.ValidateEvent(&events[i]); err != nil {
			return agentscope.Run{}, err
		}
	}
	req := agentscope.AppendRequest{
		OrgID: orgID, SessionID: run.SessionID,
		Start:       &agentscope.Run{Agent: agent.Name, Status: agentscope.StatusQueued, Managed: true, Input: run.Input, Metadata: run.Metadata, CreatedAt: now},
		Events:      events,
		Bookkeeping: true, // the plan's managed-run spend bounds managed runs
	}
	res := rt.store.AppendTx(ctx, []agentscope.AppendRequest{req}, func(ctx context.Context, tx *sql.Tx) error {
		reserve, err := rt.evaluateAgentCostBudgets(ctx, tx, orgID, agent.Name, run.SessionID, spec, now)
		if err != nil {
			return err
		}
		job, err := rt.river.InsertTx(ctx, tx, runArgs{OrgID: orgID, SessionID: run.SessionID, TimeoutMS: spec.Limits.timeout().Milliseconds()},
			&river.InsertOpts{Queue: rt.opts.Queue, MaxAttempts: rt.opts.MaxAttempts})
		if err != nil {
			return err
		}
		return rt.store.InsertManagedRunTx(ctx, tx, agentscope.ManagedRun{OrgID: orgID, SessionID: run.SessionID, Agent: agent.Name, JobID: job.Job.ID, Reserved: reserve, CreatedAt: now})
	})[0]
	if res.Err != nil {
		return agentscope.Run{}, res.Err
	}
	rt.publish(orgID, res)
	return res.Run, nil
}

// Cancel implements service.Launcher: it ends the run as cancelled (with
// RunCancelled and SessionCompleted) and cancels its River job in one
// transaction. A queued run never starts; a running one is interrupted at
// once if it executes in this process, through River's cancel signal if it
// executes in another, and in any case at its next step, since the store
// refuses events of an ended session.
func (rt *Runtime) Cancel(ctx context.Context, orgID, sessionID string) (agentscope.Run, error) {
	m, err := rt.store.GetManagedRun(ctx, orgID, sessionID)
	if err != nil {
		return agentscope.Run{}, err
	}
	const reason = "cancelled by request"
	now := rt.now()
	req := agentscope.AppendRequest{OrgID: orgID, SessionID: sessionID, Bookkeeping: true,
		Events: []agentscope.Event{
			{EventID: agentscope.NewEventID(), Type: agentscope.RunCancelled, TS: now, Error: reason},
			{EventID: agentscope.NewEventID(), Type: agentscope.SessionCompleted, TS: now, Status: string(agentscope.StatusCancelled), Error: reason},
		},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusCancelled, From: []agentscope.RunStatus{agentscope.StatusQueued, agentscope.StatusRunning}, Error: reason},
	}
	res := rt.store.AppendTx(ctx, []agentscope.AppendRequest{req}, func(ctx context.Context, tx *sql.Tx) error {
		_, err := rt.river.JobCancelTx(ctx, tx, m.JobID)
		if errors.Is(err, rivertype.ErrNotFound) {
			return nil // the job was already cleaned up
		}
		return err
	})[0]
	if res.Err != nil {
		if agentscope.ErrorCode(res.Err) == agentscope.ECONFLICT {
			if run, err := rt.store.GetRun(ctx, orgID, sessionID); err == nil && run.Status == agentscope.StatusCancelled {
				return run, nil
			}
		}
		return agentscope.Run{}, res.Err
	}
	rt.publish(orgID, res)
	rt.interrupt(orgID, sessionID, errCancelled)
	return res.Run, nil
}

// errCancelled is the cause of a run context cancelled by Cancel.
var errCancelled = errors.New("the run was cancelled")

// timeoutOf returns a job's run timeout.
func timeoutOf(args runArgs) time.Duration {
	if args.TimeoutMS <= 0 {
		return DefaultRunTimeout
	}
	return time.Duration(args.TimeoutMS) * time.Millisecond
}
