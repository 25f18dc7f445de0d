package signin

import (
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/ratelimit"
)

// AddressLimit bounds how often mail is sent to one address: Burst at
// once, then one every Every. It stops a form from being used to flood a
// mailbox, and slows guessing who has an account.
type AddressLimit struct {
	Every time.Duration
	Burst int
}

// Default limits: 5 sign-in links to one address, then one every 2
// minutes; 5 invitations to one address, then one every 10 minutes.
var (
	DefaultSignInLinkLimit = AddressLimit{Every: 2 * time.Minute, Burst: 5}
	DefaultInvitationLimit = AddressLimit{Every: 10 * time.Minute, Burst: 5}
)

// addressLimiter keeps one token bucket per address, in this process
// (internal/ratelimit).
type addressLimiter struct {
	lim  *ratelimit.Limiter
	what string
}

func newAddressLimiter(l AddressLimit, what string, now func() time.Time) *addressLimiter {
	limit := ratelimit.Limit{}
	if l.Burst > 0 && l.Every > 0 {
		limit = ratelimit.Limit{Rate: float64(time.Second) / float64(l.Every), Burst: l.Burst}
	}
	return &addressLimiter{lim: ratelimit.New(limit, now), what: what}
}

// allow takes a token for address, or returns an ERATELIMITED error whose
// RetryAfter says when the next will be there.
func (a *addressLimiter) allow(address string) error {
	if ok, d := a.lim.Allow(address); !ok {
		e := agentscope.Errorf(agentscope.ERATELIMITED, "too many %s for this address; try again in %s", a.what, d.Round(time.Second))
		e.RetryAfter = d
		return e
	}
	return nil
}
