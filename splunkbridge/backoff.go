package splunkbridge

import (
	"math/rand/v2"
	"time"
)

// backoff computes retry delays: exponential in the number of consecutive
// failures, with equal jitter (half fixed, half random) so forwarders that
// failed together do not retry together, capped at max.
type backoff struct {
	min, max time.Duration
	// rand returns a number in [0, 1); nil means math/rand/v2.
	rand func() float64
}

// delay returns the wait after the n-th consecutive failure (n >= 1).
func (b backoff) delay(n int) time.Duration {
	d := b.min
	for i := 1; i < n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	r := rand.Float64
	if b.rand != nil {
		r = b.rand
	}
	half := d / 2
	return half + time.Duration(r()*float64(d-half))
}
