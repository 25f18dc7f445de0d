package splunkbridge

import "time"

// Clock is the forwarder's source of time: when to retry, when a lease or
// an acknowledgement is late, how old the backlog is. Tests replace it (and
// the store's Options.Now) with a clock they move by hand, so a 30-second
// backoff takes no real time.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
