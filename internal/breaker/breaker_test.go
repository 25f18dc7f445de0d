package breaker

import (
	"strings"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &Breaker{cfg: Config{Failures: 3, CoolDown: time.Minute, SlowP95: time.Second}.withDefaults()}
	allowed := func(at time.Time) bool { ok, _ := b.Allow(at); return ok }

	// Failures interleaved with a success do not open it: they must be
	// consecutive.
	b.Failure(t0, "500")
	b.Failure(t0, "500")
	b.Success(t0, 10*time.Millisecond)
	b.Failure(t0, "500")
	b.Failure(t0, "500")
	if !allowed(t0) {
		t.Fatal("opened after non-consecutive failures")
	}
	b.Failure(t0, "503 overloaded")
	ok, why := b.Allow(t0.Add(time.Second))
	if ok || !strings.Contains(why, "circuit open: 3 consecutive failures, the last: 503 overloaded") {
		t.Fatalf("after 3 failures: allow=%v %q", ok, why)
	}
	// After the cool-down one trial call goes through; a second waits.
	if !allowed(t0.Add(time.Minute)) {
		t.Fatal("no trial call after the cool-down")
	}
	if ok, why := b.Allow(t0.Add(time.Minute)); ok || !strings.Contains(why, "half-open") {
		t.Fatalf("second call while half-open: %v %q", ok, why)
	}
	// A failed trial opens it again for a full cool-down.
	b.Failure(t0.Add(time.Minute), "500")
	if allowed(t0.Add(90 * time.Second)) {
		t.Fatal("allowed during the second cool-down")
	}
	// An abandoned trial (the run was cancelled) lets the next one through.
	if !allowed(t0.Add(2 * time.Minute)) {
		t.Fatal("no trial after the second cool-down")
	}
	b.Abandon()
	if !allowed(t0.Add(2 * time.Minute)) {
		t.Fatal("no trial after an abandoned one")
	}
	// A successful trial closes it.
	b.Success(t0.Add(2*time.Minute), 10*time.Millisecond)
	if !b.Closed() || !allowed(t0.Add(2*time.Minute)) {
		t.Fatal("a successful trial did not close it")
	}

	// Slow answers: p95 over the threshold opens it once 5 calls are known.
	for i := range 3 {
		b.Success(t0, time.Duration(i+1)*2*time.Second)
	}
	if !b.Closed() {
		t.Fatal("opened on latency with fewer than 5 calls")
	}
	b.Success(t0, 3*time.Second)
	if ok, why := b.Allow(t0); ok || !strings.Contains(why, "p95 latency 6s over the last 5 calls exceeds 1s") {
		t.Fatalf("slow provider: %v %q", ok, why)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 20; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(ds, 95); p != 19*time.Millisecond {
		t.Errorf("p95 of 1..20ms = %s", p)
	}
	if p := percentile(ds[:1], 95); p != time.Millisecond {
		t.Errorf("p95 of one = %s", p)
	}
}
