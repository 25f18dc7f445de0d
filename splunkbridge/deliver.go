package splunkbridge

import (
	"context"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// sendLoop delivers batches until the claimer stops handing them out.
func (f *Forwarder) sendLoop(ctx, sendCtx context.Context) {
	for b := range f.work {
		f.deliver(ctx, sendCtx, b)
		f.releaseSlots(1)
	}
}

// deliver sends b until each of its entries is settled: completed,
// dead-lettered, awaiting acknowledgement, or released for a retry. A
// partial failure settles the events before the refused one, dead-letters
// it and sends the rest again; a refusal that names no event is split
// until the bad event travels alone.
func (f *Forwarder) deliver(ctx, sendCtx context.Context, b *batch) {
	queue := []*batch{b}
	for len(queue) > 0 {
		cur := queue[0]
		now := f.opts.clock.Now()
		if ctx.Err() != nil {
			f.release(ctx, queueIDs(queue), now, "forwarder stopped")
			return
		}
		if wait := f.state.hold(now); wait > 0 {
			// Another request just failed: do not pile onto a busy server.
			f.release(ctx, queueIDs(queue), now.Add(wait), "held back after a failed request")
			return
		}
		reply, err := f.hec.postEvents(sendCtx, cur.payload())
		now = f.opts.clock.Now()
		f.opts.metrics.HECRequest(reply.Status)
		if err != nil {
			if sendCtx.Err() != nil {
				f.release(ctx, queueIDs(queue), now, "forwarder stopped")
				return
			}
			f.retryLater(ctx, queue, now, fmt.Sprintf("send %d events to HEC: %v", cur.len(), err), 0)
			return
		}
		v, reason := judge(reply, cur.len())
		switch v {
		case verdictDelivered:
			queue = queue[1:]
			if f.acks != nil && reply.AckID >= 0 {
				f.state.answered(now, 0)
				f.acks.track(ctx, reply.AckID, cur, now)
				continue
			}
			if f.acks != nil {
				f.log.Warn("HEC returned no ackId although acknowledgement is on; completing without it (is acknowledgement enabled on the token?)")
			}
			f.complete(ctx, cur)
			f.state.answered(now, cur.len())
		case verdictPartial:
			n := reply.InvalidEventNumber
			f.complete(ctx, cur.slice(0, n))
			f.deadLetter(ctx, cur.entries[n], refusal(reply))
			f.state.answered(now, n)
			queue = queue[1:]
			if n+1 < cur.len() {
				queue = append([]*batch{cur.slice(n+1, cur.len())}, queue...)
			}
		case verdictIsolate:
			f.state.answered(now, 0)
			queue = queue[1:]
			if cur.len() == 1 {
				f.deadLetter(ctx, cur.entries[0], refusal(reply))
				continue
			}
			mid := cur.len() / 2
			queue = append([]*batch{cur.slice(0, mid), cur.slice(mid, cur.len())}, queue...)
		case verdictRetry:
			if reason == "" {
				reason = reply.String()
			}
			f.retryLater(ctx, queue, now, reason, reply.RetryAfter)
			return
		case verdictPause:
			until := f.state.paused(now, reason, f.opts.pauseRetry)
			f.log.Error("HEC refused the configuration; sending paused, events stay queued", "reason", reason, "retry_at", until)
			f.release(ctx, queueIDs(queue), until, reason)
			return
		}
	}
}

// retryLater releases the queue for a retry after the backoff (or the
// server's Retry-After) and holds every sender until then.
func (f *Forwarder) retryLater(ctx context.Context, queue []*batch, now time.Time, reason string, retryAfter time.Duration) {
	until := f.state.failed(now, reason, func(n int) time.Duration {
		if retryAfter > 0 {
			return retryAfter
		}
		return f.opts.backoff.delay(n)
	})
	ids := queueIDs(queue)
	f.log.Warn("HEC request failed; retrying", "reason", reason, "events", len(ids), "retry_at", until)
	f.release(ctx, ids, until, reason)
}

// complete deletes b's entries from the outbox once Splunk has them.
func (f *Forwarder) complete(ctx context.Context, b *batch) {
	if b.len() == 0 {
		return
	}
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	n, err := f.outbox.CompleteOutbox(bctx, f.opts.owner, b.refs())
	if err == nil {
		f.opts.metrics.HECDelivered(b.len())
	}
	switch {
	case err != nil:
		f.log.Error("complete delivered entries; they will be sent again when the lease lapses", "count", b.len(), "err", err)
		f.state.internalError(f.opts.clock.Now(), fmt.Sprintf("complete delivered entries: %v", err))
	case n < int64(b.len()):
		f.log.Warn("lease lapsed before completion; some events may reach Splunk twice", "count", b.len(), "completed", n)
	}
}

// deadLetter moves an entry Splunk refused to dead_letters.
func (f *Forwarder) deadLetter(ctx context.Context, e agentscope.OutboxEntry, reason string) {
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	moved, err := f.outbox.DeadLetterOutbox(bctx, f.opts.owner, e.Ref(), reason)
	if err != nil {
		// The lease will lapse and the event be refused, and tried here, again.
		f.log.Error("dead-letter refused event", "org_id", e.OrgID, "session_id", e.SessionID, "seq", e.Seq, "err", err)
		f.state.internalError(f.opts.clock.Now(), fmt.Sprintf("dead-letter refused event: %v", err))
		return
	}
	if moved {
		f.opts.metrics.HECDeadLettered()
		f.state.deadLettered(1)
		f.log.Warn("HEC refused an event; moved to dead letters", "org_id", e.OrgID, "session_id", e.SessionID,
			"seq", e.Seq, "event_id", e.EventID, "reason", reason)
	}
}

// refusal is the dead-letter reason for an event Splunk refused: its text
// and code.
func refusal(r hecReply) string {
	if r.Text == "" {
		return r.String()
	}
	if r.Code >= 0 {
		return fmt.Sprintf("%s (HEC code %d)", r.Text, r.Code)
	}
	return r.Text
}

func queueIDs(queue []*batch) []agentscope.OutboxRef {
	var ids []agentscope.OutboxRef
	for _, b := range queue {
		ids = append(ids, b.refs()...)
	}
	return ids
}
