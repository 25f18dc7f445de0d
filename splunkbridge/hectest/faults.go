package hectest

import (
	"net/http"
	"time"
)

// Fault is a misbehaviour applied to the next event requests, in the
// order faults were injected.
type Fault struct {
	kind       faultKind
	n          int
	retryAfter time.Duration
	release    <-chan struct{}
}

type faultKind int

const (
	faultPass faultKind = iota
	faultBusy
	faultTooMany
	faultServerError
	faultDrop
	faultCut
	faultStall
)

// Pass lets the next n requests through unharmed, to space other faults.
func Pass(n int) Fault { return Fault{kind: faultPass, n: n} }

// Busy answers the next n requests 503 "Server is busy" (code 9).
func Busy(n int) Fault { return Fault{kind: faultBusy, n: n} }

// TooManyRequests answers the next n requests 429 with Retry-After
// (whole seconds).
func TooManyRequests(n int, retryAfter time.Duration) Fault {
	return Fault{kind: faultTooMany, n: n, retryAfter: retryAfter}
}

// ServerError answers the next n requests 500 "Internal server error"
// (code 8).
func ServerError(n int) Fault { return Fault{kind: faultServerError, n: n} }

// Drop closes the next n connections before reading their requests, as
// an outage does: nothing is indexed and the client sees a network error.
func Drop(n int) Fault { return Fault{kind: faultDrop, n: n} }

// CutAfterIndex indexes the next n requests and then closes their
// connections without a reply: the events are in Splunk, but the client
// cannot know, and will send them again.
func CutAfterIndex(n int) Fault { return Fault{kind: faultCut, n: n} }

// Stall indexes the next n requests and then holds their replies until
// release is closed (or the client gives up): a slow indexer. Their events
// stay in flight meanwhile, so a second delivery of one counts as an
// overlap.
func Stall(n int, release <-chan struct{}) Fault {
	return Fault{kind: faultStall, n: n, release: release}
}

// Inject queues faults for the next event requests.
func (s *Server) Inject(faults ...Fault) {
	s.update(func() {
		for _, f := range faults {
			if f.n > 0 {
				s.faults = append(s.faults, f)
			}
		}
	})
}

// nextFault takes the fault for one request, if any. Callers hold s.mu.
func (s *Server) nextFault() Fault {
	if len(s.faults) == 0 {
		return Fault{kind: faultPass}
	}
	f := s.faults[0]
	if s.faults[0].n--; s.faults[0].n == 0 {
		s.faults = s.faults[1:]
	}
	return f
}

// hangUp closes the client's connection without a reply.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("hectest: ResponseWriter cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}
