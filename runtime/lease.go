package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
)

// Run leases. The worker executing an attempt of a run holds a lease on it
// (managed_runs.lease_expires_at), taken when it claims the attempt and
// renewed every third of Options.RunLease while the attempt lasts. A run
// still running whose lease has lapsed lost its worker — the process died
// (SIGKILL, OOM, a lost machine) or cannot reach the database — and every
// worker process looks for such runs every third of the lease: one of
// them takes the run over, in one transaction clearing the lease and
// handing the run to a new River job whose attempts continue the run's
// numbering. The new attempt records RunRetried saying why and executes
// the run from its start; the run then ends once, as any run does.
//
// River's own rescuer would also retry the dead worker's job, but only
// once the job's timeout (the run's timeout, 10 minutes by default) has
// passed; the lease bounds the wait independently of it. When the old job
// is eventually rescued, its attempt finds the run handed to another job
// and stops without executing (ClaimAttempt is fenced by the job).
//
// A worker that is alive but could not renew in time (a partition from
// the database longer than the lease) learns at its next renewal that its
// attempt no longer holds the run and interrupts it without recording an
// outcome: the attempt that took over decides the run's end. Before an
// attempt records its outcome it confirms it holds the lease for half a
// lease more (leaseHold.confirm), so no takeover slips in meanwhile.

// errLeaseLost interrupts an attempt whose run was taken over.
var errLeaseLost = errors.New("the run was taken over by another worker after this worker's lease lapsed")

// leaseLoop takes over the runs whose lease lapsed, every third of the
// lease, until ctx ends.
func (rt *Runtime) leaseLoop(ctx context.Context) {
	defer close(rt.leaseDone)
	t := time.NewTicker(rt.opts.RunLease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := rt.TakeOverLapsed(ctx); err != nil && ctx.Err() == nil {
			rt.log.Warn("take over runs whose worker stopped", "err", err)
		}
	}
}

// TakeOverLapsed takes over every run still running whose lease has
// lapsed, and returns when it has looked at all of them.
func (rt *Runtime) TakeOverLapsed(ctx context.Context) error {
	for {
		page, err := rt.store.ExpiredRunLeases(ctx, rt.now(), 100)
		if err != nil {
			return err
		}
		taken := 0
		for _, m := range page {
			ok, err := rt.takeOver(ctx, m)
			if err != nil {
				return fmt.Errorf("take over %s: %w", m.SessionID, err)
			}
			if ok {
				taken++
			}
		}
		if len(page) < 100 || taken == 0 {
			return nil
		}
	}
}

// takeOver hands the run m, whose lease lapsed, to a new River job, or
// fails it when the lapsed attempt was its last. It reports false when
// another node took it over first or the run moved on.
func (rt *Runtime) takeOver(ctx context.Context, m agentscope.ManagedRun) (bool, error) {
	old, err := rt.river.JobGet(ctx, m.JobID)
	if err != nil {
		// The job is gone: the sweeper fails the run, saying so.
		rt.log.Warn("a run's lease lapsed and its job cannot be read", "session_id", m.SessionID, "err", err)
		return false, nil
	}
	var args runArgs
	if err := json.Unmarshal(old.EncodedArgs, &args); err != nil {
		return false, fmt.Errorf("decode job %d: %w", old.ID, err)
	}
	total := args.AttemptBase + old.MaxAttempts
	reason := fmt.Sprintf("attempt %d's worker stopped renewing its lease for %s (AGENTSCOPE_RUN_LEASE): it died or lost the database", m.Attempt, rt.opts.RunLease)
	now := rt.now()
	tx, err := rt.store.WriteDB().BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	ok, err := rt.store.TakeOverRunTx(ctx, tx, m, now)
	if err != nil || !ok {
		return false, err
	}
	if m.Attempt >= total {
		if err := tx.Commit(); err != nil {
			return false, err
		}
		rt.opts.Metrics.RunTakenOver()
		reason = fmt.Sprintf("failed after %d attempts: %s", m.Attempt, reason)
		if err := rt.fail(ctx, m.OrgID, m.SessionID, nil, reason); !isJobCancel(err) {
			return true, err // not recorded: the sweeper fails it once River discards the old job
		}
		rt.log.Warn("failed a run whose worker stopped on its last attempt", "session_id", m.SessionID, "attempt", m.Attempt)
		return true, nil
	}
	res, err := rt.river.InsertTx(ctx, tx, runArgs{OrgID: m.OrgID, SessionID: m.SessionID, TimeoutMS: args.TimeoutMS, AttemptBase: m.Attempt, TakeOver: reason},
		&river.InsertOpts{Queue: rt.opts.Queue, MaxAttempts: total - m.Attempt})
	if err != nil {
		return false, fmt.Errorf("queue the run's next attempt: %w", err)
	}
	if err := rt.store.SetRunJobTx(ctx, tx, m.OrgID, m.SessionID, res.Job.ID); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	rt.opts.Metrics.RunTakenOver()
	rt.log.Warn("took over a run whose worker stopped", "session_id", m.SessionID, "attempt", m.Attempt, "job_id", res.Job.ID)
	return true, nil
}

// isJobCancel reports whether err is River's JobCancel wrapper (which
// rt.fail returns for River's sake).
func isJobCancel(err error) bool {
	var c *river.JobCancelError
	return errors.As(err, &c)
}

// leaseHold is an attempt's hold on its run's lease.
type leaseHold struct {
	rt       *Runtime
	org, sid string
	attempt  int
	// taken is when the lease was last taken or renewed (unix nanos,
	// read before the write, so the lease lasts at least RunLease from
	// it).
	taken atomic.Int64
	stop  func()
}

// holdLease renews the lease of attempt n of the run, taken at taken,
// every third of the lease until the hold's stop is called; lost is
// called once if the attempt no longer holds the run (then renewals
// stop).
func (rt *Runtime) holdLease(org, sid string, attempt int, taken time.Time, lost func()) *leaseHold {
	h := &leaseHold{rt: rt, org: org, sid: sid, attempt: attempt}
	h.taken.Store(taken.UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(rt.opts.RunLease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			ok, err := h.renew(ctx)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					rt.log.Warn("renew a run's lease", "session_id", sid, "err", err)
				}
			case !ok:
				rt.log.Warn("this worker's attempt lost its run to another worker", "session_id", sid, "attempt", attempt)
				lost()
				return
			}
		}
	}()
	h.stop = func() {
		cancel()
		<-done
	}
	return h
}

// renew extends the lease by RunLease from now.
func (h *leaseHold) renew(ctx context.Context) (bool, error) {
	at := time.Now()
	ok, err := h.rt.store.RenewRunLease(ctx, h.org, h.sid, h.attempt, h.rt.now().Add(h.rt.opts.RunLease))
	if ok {
		h.taken.Store(at.UnixNano())
	}
	return ok, err
}

// confirm reports whether the attempt still holds its run for at least
// half a lease more, so that no other worker can take it over while the
// attempt records how it ended: it renews the lease first unless it was
// renewed within the last half lease (the usual case, renewals coming
// every third). A failed renewal counts as held: the outcome's own commit
// meets the same database.
func (h *leaseHold) confirm(ctx context.Context) bool {
	if time.Since(time.Unix(0, h.taken.Load())) < h.rt.opts.RunLease/2 {
		return true
	}
	ok, err := h.renew(ctx)
	return ok || err != nil
}
