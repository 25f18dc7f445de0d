package ratelimit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a hand-moved time.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestBurstThenSteadyRate(t *testing.T) {
	clk := newClock()
	l := New(Limit{Rate: 2, Burst: 5}, clk.now)
	for i := range 5 {
		if ok, _ := l.Allow("key:a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("key:a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: ok %v, retry after %v; want refused, 500ms (one token at 2/s)", ok, wait)
	}
	// A refusal takes no token: the wait does not grow.
	if ok, again := l.Allow("key:a"); ok || again != wait {
		t.Fatalf("second refusal: ok %v, retry after %v; want %v", ok, again, wait)
	}
	clk.advance(wait)
	if ok, _ := l.Allow("key:a"); !ok {
		t.Fatal("refused after waiting Retry-After")
	}
	if ok, _ := l.Allow("key:a"); ok {
		t.Fatal("allowed a second request within one token's refill")
	}
}

func TestKeysAreIndependent(t *testing.T) {
	clk := newClock()
	l := New(Limit{Rate: 1, Burst: 1}, clk.now)
	if ok, _ := l.Allow("key:a"); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := l.Allow("key:a"); ok {
		t.Fatal("key:a's second request allowed")
	}
	if ok, _ := l.Allow("key:b"); !ok {
		t.Fatal("key:b refused because key:a spent its bucket")
	}
}

func TestOffAllowsEverything(t *testing.T) {
	for _, l := range []*Limiter{nil, New(Limit{}, nil)} {
		for range 10_000 {
			if ok, _ := l.Allow("k"); !ok {
				t.Fatal("the zero limit refused a request")
			}
		}
	}
	if n := New(Limit{}, nil).Len(); n != 0 {
		t.Errorf("an off limiter keeps %d buckets", n)
	}
}

func TestBurstDefaultsToRate(t *testing.T) {
	clk := newClock()
	l := New(Limit{Rate: 2.5}, clk.now)
	n := 0
	for {
		if ok, _ := l.Allow("k"); !ok {
			break
		}
		n++
	}
	if n != 3 {
		t.Errorf("burst %d, want the rate rounded up (3)", n)
	}
	if ok, _ := New(Limit{Rate: 0.1}, clk.now).Allow("k"); !ok {
		t.Error("a rate below 1/s refused the first request")
	}
}

// TestIdleBucketsAreDropped: buckets unused for a refill time go, so a
// stream of one-off callers holds bounded memory, and a dropped bucket's
// caller starts full, as it would have been.
func TestIdleBucketsAreDropped(t *testing.T) {
	clk := newClock()
	l := New(Limit{Rate: 10, Burst: 10}, clk.now) // refills in 1s
	for i := range 1000 {
		l.Allow(fmt.Sprint("key:", i))
	}
	if l.Len() != 1000 {
		t.Fatalf("%d buckets, want 1000", l.Len())
	}
	clk.advance(time.Second)
	l.Allow("key:new")
	if l.Len() != 1 {
		t.Errorf("%d buckets after a refill time idle, want only the new one", l.Len())
	}
	for range 10 {
		if ok, _ := l.Allow("key:7"); !ok {
			t.Fatal("a dropped bucket's caller did not start full")
		}
	}
}

func TestConcurrentCallersShareOneBucket(t *testing.T) {
	clk := newClock()
	l := New(Limit{Rate: 1, Burst: 100}, clk.now)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if ok, _ := l.Allow("key:shared"); ok {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 100 {
		t.Errorf("%d of 800 concurrent requests allowed with a burst of 100 and a stopped clock", allowed.Load())
	}
}
