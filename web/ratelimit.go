package web

import (
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/ratelimit"
)

// RateLimits bound how fast one caller may send requests to the JSON API,
// its websockets and /mcp, counted after authentication: a token bucket per
// API key, per OAuth grant or person, and per instance token's
// organisation. Past it a request is answered 429 with Retry-After. The
// zero value limits nothing.
type RateLimits struct {
	// Callers is the bucket of API keys, OAuth tokens and people
	// (AGENTSCOPE_KEY_RATE_LIMIT, AGENTSCOPE_RATE_BURST).
	Callers ratelimit.Limit
	// Instance is the bucket of the instance token
	// (AGENTSCOPE_INSTANCE_RATE_LIMIT; off by default, so the zero-setup
	// path is unchanged).
	Instance ratelimit.Limit
	// Now is the limiters' clock; nil means time.Now.
	Now func() time.Time
}

// rateLimiter holds the buckets of RateLimits.
type rateLimiter struct {
	callers, instance *ratelimit.Limiter
}

func newRateLimiter(l RateLimits) rateLimiter {
	return rateLimiter{callers: ratelimit.New(l.Callers, l.Now), instance: ratelimit.New(l.Instance, l.Now)}
}

// admit takes a token from p's bucket, or returns the ERATELIMITED error
// (with its RetryAfter) that refuses the request.
func (rl rateLimiter) admit(p agentscope.Principal) error {
	lim, setting := rl.callers, "AGENTSCOPE_KEY_RATE_LIMIT"
	if p.Kind == agentscope.PrincipalInstance {
		lim, setting = rl.instance, "AGENTSCOPE_INSTANCE_RATE_LIMIT"
	}
	ok, wait := lim.Allow(p.OrgID + "/" + p.Actor())
	if ok {
		return nil
	}
	l := lim.Limit()
	err := agentscope.Errorf(agentscope.ERATELIMITED, "too many requests: this caller may send %g requests per second (bursts of %d, %s); retry after %s",
		l.Rate, l.BurstSize(), setting, wait.Round(time.Millisecond))
	err.RetryAfter = wait
	return err
}
