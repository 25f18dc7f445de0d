package splunkbridge

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// ackTracker holds batches HEC accepted under an ackId until Splunk
// acknowledges them as indexed. Only then are they completed; a batch with
// no acknowledgement within AckTimeout is released and sent again.
type ackTracker struct {
	f  *Forwarder
	mu sync.Mutex
	// pending maps ackId to the batch sent under it.
	pending map[int64]pendingAck
	// space bounds the pending batches: track blocks when it is full, which
	// holds back the senders and, through them, the claimer.
	space chan struct{}
}

type pendingAck struct {
	b      *batch
	sentAt time.Time
}

func newAckTracker(f *Forwarder) *ackTracker {
	return &ackTracker{f: f, pending: map[int64]pendingAck{}, space: make(chan struct{}, 16*f.cfg.Concurrency)}
}

// track registers b, accepted under ackID at sentAt.
func (a *ackTracker) track(ctx context.Context, ackID int64, b *batch, sentAt time.Time) {
	select {
	case a.space <- struct{}{}:
	case <-ctx.Done():
		a.f.release(ctx, b.refs(), a.f.opts.clock.Now(), "forwarder stopped before acknowledgement")
		return
	}
	a.mu.Lock()
	old, dup := a.pending[ackID]
	a.pending[ackID] = pendingAck{b: b, sentAt: sentAt}
	a.mu.Unlock()
	if dup {
		// The same ackId twice means HEC restarted the channel: the old
		// batch's acknowledgement is lost, so send it again.
		<-a.space
		a.f.release(ctx, old.b.refs(), sentAt, "HEC reused an ackId; acknowledgement lost")
		return
	}
	a.f.state.awaiting(1)
}

// run polls pending acknowledgements until ctx ends. It then waits for the
// senders to finish (they may still hand it batches), polls once more with
// sendCtx, so within the stop grace, and releases what is left.
func (a *ackTracker) run(ctx, sendCtx context.Context, sendersDone <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			<-sendersDone
			a.poll(sendCtx)
			a.releaseAll(sendCtx, "forwarder stopped before acknowledgement")
			return
		case <-a.f.opts.clock.After(a.f.cfg.AckPollInterval):
			a.poll(ctx)
		}
	}
}

// poll asks HEC about every pending ackId, completes the acknowledged
// batches and releases those past AckTimeout.
func (a *ackTracker) poll(ctx context.Context) {
	a.mu.Lock()
	ids := slices.Sorted(maps.Keys(a.pending))
	a.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	acked, reply, err := a.f.hec.queryAcks(ctx, ids)
	now := a.f.opts.clock.Now()
	switch {
	case err != nil:
		a.f.log.Warn("query HEC acknowledgements", "pending", len(ids), "err", err)
		a.f.state.internalError(now, fmt.Sprintf("query HEC acknowledgements: %v", err))
	case reply.Status != 200:
		a.f.log.Warn("query HEC acknowledgements", "pending", len(ids), "reply", reply.String())
		a.f.state.internalError(now, "query HEC acknowledgements: "+reply.String())
	}
	for _, id := range ids {
		p, ok := a.take(id, func(p pendingAck) bool {
			return acked[id] || now.Sub(p.sentAt) >= a.f.cfg.AckTimeout
		})
		if !ok {
			continue
		}
		if acked[id] {
			a.f.complete(ctx, p.b)
			a.f.state.acked(now, p.b.len())
			continue
		}
		a.f.log.Warn("no HEC acknowledgement in time; sending the batch again", "ack_id", id, "events", p.b.len(), "timeout", a.f.cfg.AckTimeout)
		a.f.release(ctx, p.b.refs(), now, fmt.Sprintf("no acknowledgement within %s", a.f.cfg.AckTimeout))
	}
}

// take removes the pending ackId if cond holds for it.
func (a *ackTracker) take(id int64, cond func(pendingAck) bool) (pendingAck, bool) {
	a.mu.Lock()
	p, ok := a.pending[id]
	if ok && cond(p) {
		delete(a.pending, id)
	} else {
		ok = false
	}
	a.mu.Unlock()
	if ok {
		<-a.space
		a.f.state.awaiting(-1)
	}
	return p, ok
}

func (a *ackTracker) releaseAll(ctx context.Context, reason string) {
	a.mu.Lock()
	ids := slices.Collect(maps.Keys(a.pending))
	a.mu.Unlock()
	for _, id := range ids {
		if p, ok := a.take(id, func(pendingAck) bool { return true }); ok {
			a.f.release(ctx, p.b.refs(), a.f.opts.clock.Now(), reason)
		}
	}
}
