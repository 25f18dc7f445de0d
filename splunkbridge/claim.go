package splunkbridge

import (
	"context"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// claimLoop leases due entries and hands them to the senders as batches.
// It claims only as many batches as there are free slots, so nothing waits
// long on a lease, and only one while HEC is failing, so a recovering
// server is probed with one request rather than a full pipeline.
func (f *Forwarder) claimLoop(ctx context.Context) {
	defer close(f.work)
	storeFailures := 0
	for {
		if wait := f.state.hold(f.opts.clock.Now()); wait > 0 {
			if !f.sleep(ctx, wait) {
				return
			}
			continue
		}
		hold := f.state.holdSignal()
		slots, ok := f.acquireSlots(ctx)
		if !ok {
			return
		}
		entries, err := f.outbox.ClaimOutbox(ctx, f.opts.owner, slots*f.cfg.BatchEvents, f.opts.lease)
		if err != nil {
			f.releaseSlots(slots)
			if ctx.Err() != nil {
				return
			}
			storeFailures++
			f.log.Error("claim outbox entries", "err", err)
			f.state.internalError(f.opts.clock.Now(), fmt.Sprintf("claim outbox entries: %v", err))
			if !f.sleep(ctx, f.opts.backoff.delay(storeFailures)) {
				return
			}
			continue
		}
		storeFailures = 0
		if len(entries) == 0 {
			f.releaseSlots(slots)
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			case <-hold:
				// A sender failed: wait out exactly its hold, not the poll.
			case <-f.opts.clock.After(f.opts.pollInterval):
			}
			continue
		}
		if !f.dispatch(ctx, entries, slots) {
			return
		}
	}
}

// acquireSlots blocks for one free slot, then takes up to all the free
// ones without blocking (only one while HEC is failing). It returns false
// if ctx ended.
func (f *Forwarder) acquireSlots(ctx context.Context) (int, bool) {
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, false
	}
	n := 1
	if f.state.unhealthy() {
		return n, true
	}
	for n < cap(f.slots) {
		select {
		case f.slots <- struct{}{}:
			n++
		default:
			return n, true
		}
	}
	return n, true
}

func (f *Forwarder) releaseSlots(n int) {
	for range n {
		<-f.slots
	}
}

// dispatch cuts entries into batches and hands each to a sender, taking a
// slot for every batch beyond the held ones. Entries whose event is gone
// are dead-lettered at once. On shutdown the undispatched entries are
// released. It returns false if ctx ended.
func (f *Forwarder) dispatch(ctx context.Context, entries []agentscope.OutboxEntry, held int) bool {
	batches, orphans := cutBatches(f.enc, entries, f.cfg.BatchEvents, f.cfg.BatchBytes)
	for _, e := range orphans {
		f.deadLetter(ctx, e, "event body missing from the store")
	}
	owned := held // slots taken and not yet passed on with a batch
	defer func() { f.releaseSlots(owned) }()
	for i, b := range batches {
		if owned == 0 {
			select {
			case f.slots <- struct{}{}:
				owned++
			case <-ctx.Done():
				f.releaseUnsent(batches[i:], "forwarder stopped")
				return false
			}
		}
		select {
		case f.work <- b:
			owned-- // the sender releases it when the batch is settled
		case <-ctx.Done():
			f.releaseUnsent(batches[i:], "forwarder stopped")
			return false
		}
	}
	return true
}

// releaseUnsent gives batches that were never sent back to the outbox, due
// now, so a restarted or another forwarder need not wait for the lease.
func (f *Forwarder) releaseUnsent(batches []*batch, reason string) {
	var ids []agentscope.OutboxRef
	for _, b := range batches {
		ids = append(ids, b.refs()...)
	}
	f.release(context.Background(), ids, f.opts.clock.Now(), reason)
}

// release returns entries to the outbox, to be claimed again from at.
func (f *Forwarder) release(ctx context.Context, ids []agentscope.OutboxRef, at time.Time, reason string) {
	if len(ids) == 0 {
		return
	}
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	if _, err := f.outbox.RetryOutbox(bctx, f.opts.owner, ids, at, reason); err != nil {
		// The lease will lapse and the entries come back anyway.
		f.log.Error("release outbox entries", "count", len(ids), "err", err)
		return
	}
	// The claimer may have looked for due entries between the failure that
	// held it and this release (a hold ends as soon as the clock reaches
	// at): it looks again now rather than at its next poll, which left the
	// entries a poll interval late, or with a test's clock, for good.
	f.Notify()
}
