package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/agentscope/agentscope"
)

// The sweeper finds managed runs still queued or running whose River job
// has nevertheless ended — discarded by the rescuer after its last attempt
// was lost, cancelled, completed without recording an outcome, or deleted —
// and fails them with the reason, so no run stays queued or running for
// ever. Every worker process sweeps; the status precondition makes the
// failure recorded once.

// sweepGrace keeps the sweeper away from runs just created.
const sweepGrace = 30 * time.Second

func (rt *Runtime) sweepLoop(ctx context.Context) {
	defer close(rt.sweepDone)
	t := time.NewTicker(rt.opts.SweepInterval)
	defer t.Stop()
	for {
		if err := rt.Sweep(ctx); err != nil && ctx.Err() == nil {
			rt.log.Warn("sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep fails the unfinished runs whose job has ended and returns when it
// has looked at all of them.
func (rt *Runtime) Sweep(ctx context.Context) error {
	var after agentscope.ManagedRun
	for {
		page, err := rt.store.UnfinishedManagedRuns(ctx, rt.now().Add(-sweepGrace), after, 100)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		ids := make([]int64, len(page))
		for i, m := range page {
			ids[i] = m.JobID
		}
		res, err := rt.river.JobList(ctx, river.NewJobListParams().IDs(ids...).First(len(ids)))
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		jobs := map[int64]*rivertype.JobRow{}
		for _, j := range res.Jobs {
			jobs[j.ID] = j
		}
		for _, m := range page {
			j := jobs[m.JobID]
			var reason string
			switch {
			case j == nil:
				reason = "its job no longer exists"
			case j.State == rivertype.JobStateDiscarded:
				reason = fmt.Sprintf("its job was discarded after %d attempts", j.Attempt)
			case j.State == rivertype.JobStateCancelled || j.State == rivertype.JobStateCompleted:
				reason = fmt.Sprintf("its job is %s", j.State)
			default:
				continue // queued, running or waiting for a retry
			}
			if j != nil && len(j.Errors) > 0 {
				reason += "; the last error: " + j.Errors[len(j.Errors)-1].Error
			}
			reason = "the run did not finish: " + reason
			_, err := rt.rec.Commit(ctx, agentscope.AppendRequest{OrgID: m.OrgID, SessionID: m.SessionID, Bookkeeping: true,
				Events: []agentscope.Event{
					{EventID: agentscope.NewEventID(), Type: agentscope.RunFailed, TS: rt.now(), Error: reason},
					{EventID: agentscope.NewEventID(), Type: agentscope.SessionCompleted, TS: rt.now(), Status: string(agentscope.StatusFailed), Error: reason},
				},
				Update: &agentscope.RunUpdate{Status: agentscope.StatusFailed, From: []agentscope.RunStatus{agentscope.StatusQueued, agentscope.StatusRunning}, Error: reason},
			})
			if err != nil && agentscope.ErrorCode(err) != agentscope.ECONFLICT {
				return err
			}
			if err == nil {
				rt.log.Warn("failed an orphaned run", "session_id", m.SessionID, "reason", reason)
			}
		}
		after = page[len(page)-1]
	}
}
