package runtime

import (
	"context"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
)

// journal records one run attempt's events through the recorder, in order,
// without making the agent loop wait for each commit: add queues events and
// returns, a goroutine commits whatever is queued as one request (the
// recorder's group commit may merge it with other runs'), and the loop
// waits — flush — only before it ends the run. Event ids are assigned when
// queued, so a retried commit stores each event once.
//
// The first commit error sticks: later adds and flushes return it. The
// store refuses events for an ended session with ECONFLICT, which is how a
// cancelled run notices it has been cancelled at its next step.
type journal struct {
	rec      *recorder.Recorder
	org, sid string
	now      func() time.Time

	mu       sync.Mutex
	pending  []agentscope.Event
	added    int
	done     int
	err      error
	progress chan struct{} // closed and replaced after each commit
	wake     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
}

func newJournal(rec *recorder.Recorder, org, sid string, now func() time.Time) *journal {
	j := &journal{rec: rec, org: org, sid: sid, now: now,
		progress: make(chan struct{}), wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go j.run()
	return j
}

// add queues events, giving each an event id and time. It returns the
// journal's sticky error, if any.
func (j *journal) add(evs ...agentscope.Event) error {
	now := j.now().UTC()
	for i := range evs {
		if evs[i].EventID == "" {
			evs[i].EventID = agentscope.NewEventID()
		}
		if evs[i].TS.IsZero() {
			evs[i].TS = now
		}
	}
	j.mu.Lock()
	if j.err != nil {
		err := j.err
		j.mu.Unlock()
		return err
	}
	j.pending = append(j.pending, evs...)
	j.added += len(evs)
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return nil
}

// failed returns the sticky error without waiting.
func (j *journal) failed() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

func (j *journal) run() {
	defer close(j.stopped)
	for {
		select {
		case <-j.wake:
		case <-j.stop:
			j.commitPending()
			return
		}
		j.commitPending()
	}
}

func (j *journal) commitPending() {
	for {
		j.mu.Lock()
		batch := j.pending
		j.pending = nil
		failed := j.err != nil
		j.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		var err error
		if !failed {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, err = j.rec.Commit(ctx, agentscope.AppendRequest{OrgID: j.org, SessionID: j.sid, Events: batch, Bookkeeping: true})
			cancel()
		}
		j.mu.Lock()
		if err != nil && j.err == nil {
			j.err = err
		}
		j.done += len(batch)
		close(j.progress)
		j.progress = make(chan struct{})
		j.mu.Unlock()
	}
}

// flush waits until every event added so far is committed (or refused) and
// returns the sticky error.
func (j *journal) flush(ctx context.Context) error {
	j.mu.Lock()
	target := j.added
	j.mu.Unlock()
	for {
		j.mu.Lock()
		if j.done >= target {
			err := j.err
			j.mu.Unlock()
			return err
		}
		ch := j.progress
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// finish commits the final events with the run's status change,
// synchronously, together with whatever is still queued: it waits for a
// commit in flight (to keep the order), then takes the queue over, so a
// run's last events and its end cost one transaction.
func (j *journal) finish(ctx context.Context, update *agentscope.RunUpdate, evs ...agentscope.Event) (agentscope.AppendResult, error) {
	now := j.now().UTC()
	for i := range evs {
		if evs[i].EventID == "" {
			evs[i].EventID = agentscope.NewEventID()
		}
		if evs[i].TS.IsZero() {
			evs[i].TS = now
		}
	}
	for {
		j.mu.Lock()
		if j.err != nil {
			err := j.err
			j.mu.Unlock()
			return agentscope.AppendResult{}, err
		}
		if j.done+len(j.pending) == j.added {
			// Nothing in flight: what is queued goes with the end.
			batch := append(j.pending, evs...)
			j.added += len(evs)
			j.pending = nil
			j.mu.Unlock()
			res, err := j.rec.Commit(ctx, agentscope.AppendRequest{OrgID: j.org, SessionID: j.sid, Events: batch, Update: update, Bookkeeping: true})
			j.mu.Lock()
			if err != nil && j.err == nil {
				j.err = err
			}
			j.done += len(batch)
			close(j.progress)
			j.progress = make(chan struct{})
			j.mu.Unlock()
			return res, err
		}
		ch := j.progress
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return agentscope.AppendResult{}, ctx.Err()
		}
	}
}

// close commits what is queued and stops the journal's goroutine.
func (j *journal) close() {
	close(j.stop)
	<-j.stopped
}
