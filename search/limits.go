package search

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
)

// Limits bound the work SPL queries can make the server do, whichever
// backend runs them. Zero fields take the defaults.
type Limits struct {
	// Timeout cuts a query that runs longer (default 30s,
	// AGENTSCOPE_SPL_TIMEOUT).
	Timeout time.Duration
	// MaxConcurrent bounds the queries running at once in this process
	// (default 16, AGENTSCOPE_SPL_MAX_CONCURRENT).
	MaxConcurrent int
	// MaxPerOrg bounds one organisation's queries running at once (default
	// 4, AGENTSCOPE_SPL_MAX_CONCURRENT_PER_ORG).
	MaxPerOrg int
}

// DefaultLimits are the limits of a router given none.
var DefaultLimits = Limits{Timeout: 30 * time.Second, MaxConcurrent: 16, MaxPerOrg: 4}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultLimits.Timeout
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = DefaultLimits.MaxConcurrent
	}
	if l.MaxPerOrg <= 0 {
		l.MaxPerOrg = DefaultLimits.MaxPerOrg
	}
	l.MaxPerOrg = min(l.MaxPerOrg, l.MaxConcurrent)
	return l
}

// admission counts the queries running, in all and per organisation.
type admission struct {
	mu    sync.Mutex
	total int
	byOrg map[string]int
}

// admit takes a slot for org or answers at once with a busy error: a query
// waits for nothing, so a flood of queries cannot queue up work.
func (a *admission) admit(org string, l Limits) (release func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byOrg == nil {
		a.byOrg = map[string]int{}
	}
	var busy *agentscope.Error
	switch {
	case a.byOrg[org] >= l.MaxPerOrg:
		busy = agentscope.Errorf(agentscope.EUNAVAILABLE, "busy: %d SPL queries of this organisation are running, the most at once (AGENTSCOPE_SPL_MAX_CONCURRENT_PER_ORG); retry in a moment", l.MaxPerOrg)
	case a.total >= l.MaxConcurrent:
		busy = agentscope.Errorf(agentscope.EUNAVAILABLE, "busy: %d SPL queries are running, the most at once (AGENTSCOPE_SPL_MAX_CONCURRENT); retry in a moment", l.MaxConcurrent)
	}
	if busy != nil {
		busy.RetryAfter = time.Second
		return nil, busy
	}
	a.total++
	a.byOrg[org]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.total--
			if a.byOrg[org]--; a.byOrg[org] == 0 {
				delete(a.byOrg, org)
			}
		})
	}, nil
}

// timedOut turns a backend's error after the query's own deadline passed
// into a clear one; the caller's cancellation stays as it is.
func timedOut(parent, ctx context.Context, err error, l Limits) error {
	if err == nil || parent.Err() != nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	return agentscope.Errorf(agentscope.EUNAVAILABLE, "the SPL query exceeded the %s time limit (AGENTSCOPE_SPL_TIMEOUT) and was stopped; narrow its time range or add filters", l.Timeout)
}
