// Package breaker is the circuit breakers AgentScope keeps per model
// provider endpoint, shared by every caller in a process of the same
// provider: the runtime's managed runs and the LLM gateway. A provider
// that fails repeatedly (or answers too slowly) is skipped by both until a
// trial call after the cool-down shows it has recovered.
package breaker

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config tunes the per-provider circuit breakers.
type Config struct {
	// Failures is the number of consecutive failed calls that opens a
	// breaker (default 3).
	Failures int
	// SlowP95 opens a breaker when the 95th percentile latency of its last
	// LatencyWindow successful calls exceeds it (0: default 90s; negative
	// disables).
	SlowP95 time.Duration
	// LatencyWindow is the number of recent calls whose latency counts
	// (default 20); the latency rule needs at least 5.
	LatencyWindow int
	// CoolDown is how long a breaker stays open before it lets one trial
	// call through (half-open) (default 30s).
	CoolDown time.Duration
}

func (c Config) withDefaults() Config {
	if c.Failures <= 0 {
		c.Failures = 3
	}
	if c.SlowP95 == 0 {
		c.SlowP95 = 90 * time.Second
	}
	if c.LatencyWindow <= 0 {
		c.LatencyWindow = 20
	}
	if c.CoolDown <= 0 {
		c.CoolDown = 30 * time.Second
	}
	return c
}

type breakerState int

const (
	closed breakerState = iota
	open
	halfOpen
)

// Breaker guards one provider. A nil Breaker guards nothing: it allows
// every call and records nothing. Closed, it lets calls through and counts
// consecutive failures and recent latencies; open, it refuses calls until
// the cool-down has passed; then it lets one trial call through
// (half-open), which closes it on success and opens it again on failure.
type Breaker struct {
	cfg       Config
	mu        sync.Mutex
	state     breakerState
	failures  int
	latencies []time.Duration
	openedAt  time.Time
	reason    string
	probing   bool
}

// Allow reports whether a call may go to the provider now, and if not,
// why. A call it allows must end in Success, Failure or Abandon: while
// half-open it lets only that one trial call through.
func (b *Breaker) Allow(now time.Time) (bool, string) {
	if b == nil {
		return true, ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case open:
		if now.Sub(b.openedAt) < b.cfg.CoolDown {
			return false, "circuit open: " + b.reason
		}
		b.state, b.probing = halfOpen, true
		return true, ""
	case halfOpen:
		if b.probing {
			return false, "circuit half-open, a trial call is in flight: " + b.reason
		}
		b.probing = true
		return true, ""
	}
	return true, ""
}

// Success records a call that answered after latency.
func (b *Breaker) Success(now time.Time, latency time.Duration) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures = 0
	if b.state == halfOpen {
		b.state, b.probing, b.reason, b.latencies = closed, false, "", nil
	}
	b.latencies = append(b.latencies, latency)
	if len(b.latencies) > b.cfg.LatencyWindow {
		b.latencies = b.latencies[len(b.latencies)-b.cfg.LatencyWindow:]
	}
	if b.cfg.SlowP95 > 0 && len(b.latencies) >= 5 {
		if p95 := percentile(b.latencies, 95); p95 > b.cfg.SlowP95 {
			b.trip(now, fmt.Sprintf("p95 latency %s over the last %d calls exceeds %s", p95.Round(time.Millisecond), len(b.latencies), b.cfg.SlowP95))
		}
	}
}

// Failure records a failed call.
func (b *Breaker) Failure(now time.Time, msg string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	switch {
	case b.state == halfOpen:
		b.trip(now, "trial call failed: "+msg)
	case b.state == closed && b.failures >= b.cfg.Failures:
		b.trip(now, fmt.Sprintf("%d consecutive failures, the last: %s", b.failures, msg))
	}
}

func (b *Breaker) trip(now time.Time, reason string) {
	b.state, b.openedAt, b.reason, b.probing, b.latencies = open, now, reason, false, nil
}

// Closed reports whether the breaker is closed.
func (b *Breaker) Closed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state == closed
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

// Set holds one breaker per provider endpoint, shared by the callers of a
// process (the runtime's runs, the LLM gateway).
type Set struct {
	cfg Config
	mu  sync.Mutex
	m   map[string]*Breaker
}

// NewSet returns a Set whose breakers are tuned by cfg (zero fields take
// the defaults).
func NewSet(cfg Config) *Set {
	return &Set{cfg: cfg.withDefaults(), m: map[string]*Breaker{}}
}

// Key names the breaker of the provider name at baseURL: callers of one
// provider endpoint share its breaker by using the same key.
func Key(name, baseURL string) string { return name + " " + strings.TrimRight(baseURL, "/") }

// Get returns the breaker of key (Key), made closed on first use.
func (bs *Set) Get(key string) *Breaker {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[key]
	if b == nil {
		b = &Breaker{cfg: bs.cfg}
		bs.m[key] = b
	}
	return b
}

// Abandon records a call that ended without a verdict (the caller went
// away): a half-open breaker lets the next trial call through.
func (b *Breaker) Abandon() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == halfOpen {
		b.probing = false
	}
}
