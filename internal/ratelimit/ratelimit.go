// Package ratelimit keeps a token bucket per caller (an API key, an
// instance token, …): each holds up to Burst requests and refills at Rate
// per second, so a caller may burst and then goes on at the steady rate,
// while one caller's flood never slows another's. A refused request learns
// how long until its bucket holds a token again, for Retry-After.
//
// Buckets live in memory, per process: behind a load balancer each process
// enforces its own share. A bucket that has refilled completely is the same
// as a new one, so idle buckets are dropped and the memory held stays
// bounded by the callers active within one refill time.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a token bucket's size and refill rate. The zero Limit is off:
// it allows everything.
type Limit struct {
	// Rate is the steady number of requests per second; 0 is no limit.
	Rate float64
	// Burst is how many requests may come at once; at least 1 when Rate is
	// set (0 means Rate rounded up).
	Burst int
}

// Off reports whether l allows everything.
func (l Limit) Off() bool { return l.Rate == 0 }

// BurstSize is l's bucket size: Burst, or Rate rounded up without one.
func (l Limit) BurstSize() int { return l.burst() }

func (l Limit) burst() int {
	if l.Burst > 0 {
		return l.Burst
	}
	return max(1, int(math.Ceil(l.Rate)))
}

// refill is how long an empty bucket takes to fill.
func (l Limit) refill() time.Duration {
	return time.Duration(float64(l.burst()) / l.Rate * float64(time.Second))
}

// Limiter keeps one bucket per key. It is safe for concurrent use.
type Limiter struct {
	limit Limit
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// New returns a limiter giving each key a bucket of limit. now is the
// clock (nil: time.Now).
func New(limit Limit, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{limit: limit, now: now, buckets: map[string]*bucket{}}
}

// Limit is the limiter's bucket.
func (l *Limiter) Limit() Limit { return l.limit }

// Allow takes a token from key's bucket. When the bucket is empty it takes
// nothing and returns false with how long until a token is there.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil || l.limit.Off() {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.limit.Rate), l.limit.burst())}
		l.buckets[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops, at most once per refill time, the buckets unused for a
// refill time: they are full again, as a new bucket would be.
func (l *Limiter) sweep(now time.Time) {
	idle := l.limit.refill()
	if now.Sub(l.lastSweep) < idle {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.last) >= idle {
			delete(l.buckets, k)
		}
	}
}

// Len is the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
