// Package fakeclock is a clock for tests that moves only when told to. It
// satisfies splunkbridge.Clock, and its Now fits sqlstore.Options.Now, so a
// store and a forwarder can share one timeline in which a 30-second
// backoff passes instantly. Tests synchronise with BlockUntil, never with
// sleeps: it waits until the code under test is waiting on the clock.
package fakeclock

import (
	"context"
	"sync"
	"time"
)

// Clock is a manually advanced clock.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{}
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// New returns a clock reading start.
func New(start time.Time) *Clock { return &Clock{now: start, changed: make(chan struct{})} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives once the clock has been advanced
// by d. A non-positive d fires at once.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	c.notify()
	return ch
}

// Advance moves the clock forward by d and fires the waits that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
	c.notify()
}

// Pending returns how far in the future each pending wait fires.
func (c *Clock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pendingLocked()
}

func (c *Clock) pendingLocked() []time.Duration {
	out := make([]time.Duration, len(c.waiters))
	for i, w := range c.waiters {
		out[i] = w.at.Sub(c.now)
	}
	return out
}

// BlockUntil waits until cond holds for the pending waits (as Pending
// returns them) or ctx ends. Waits registered and abandoned (a select that
// took another branch) stay pending until they fire; cond should look for
// the wait it expects rather than count them.
func (c *Clock) BlockUntil(ctx context.Context, cond func(pending []time.Duration) bool) error {
	for {
		c.mu.Lock()
		p, ch := c.pendingLocked(), c.changed
		c.mu.Unlock()
		if cond(p) {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-ch:
		}
	}
}

// notify wakes BlockUntil; callers hold c.mu.
func (c *Clock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}
