// Package hectest is an in-process Splunk HTTP Event Collector for tests.
// It follows Splunk's published HEC contract: Authorization: Splunk
// <token> (401 code 2 when missing, 401 code 3 when malformed, 403 code 4
// for an unknown token, 403 code 1 for a disabled one); the /event
// endpoint with concatenated JSON envelopes, plain or gzip, validated
// event by event (400 with code 5, 6, 7, 12, 13 or 15 and
// invalid-event-number, the events before it indexed, as Splunk does);
// indexer acknowledgement with channels, ackIds and /ack; and /health.
//
// Faults are injected per request (busy, 429 with Retry-After, dropped and
// cut connections), per event (a poison marker) or per token (rotation,
// disabling). Every indexed event is recorded, with the request that
// carried it, so tests can assert delivery, duplicates and fields; the
// server also flags an event delivered while another request carrying it
// is still in flight.
package hectest

import (
	"context"
	"hash/maphash"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Options configure a Server.
type Options struct {
	// Token is the valid HEC token. Required.
	Token string
	// Ack turns on indexer acknowledgement for the token: requests must
	// name a channel, and successes carry an ackId.
	Ack bool
	// Indexes, if set, are the only indexes the token may write (others
	// are refused with code 7).
	Indexes []string
	// MaxContentLength bounds a request body after decompression; default
	// 1 MiB, beyond which the reply is 413.
	MaxContentLength int
	// DiscardEvents keeps only the per-event delivery counts, not the
	// envelopes, for benchmarks with millions of events.
	DiscardEvents bool
}

// Server is a running fake HEC.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu       sync.Mutex
	changed  chan struct{}
	token    string
	disabled bool
	poison   string
	unwell   bool
	faults   []Fault
	withhold int
	channels map[string]*channel
	events   []Event
	// keyIndex places every event key seen in keys, by its hashKey.
	keyIndex keyTable
	keys     keyStates
	stats    Stats
}

// keyState is what the server knows of one event key: how many times it
// was indexed, by how many requests in flight, and whether a request that
// carried it was never answered.
type keyState struct {
	key      string
	count    int32
	inflight int32
	cut      bool
}

// keySeeds seed hashKey's two hashes.
var keySeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// hashKey is key's 128-bit hash, the index of the keys seen: with no
// pointers in it, the index is a map the garbage collector need not scan,
// whose lookups compare two words rather than follow a string (the index
// of a benchmark's millions of string keys was a fifth of this server's
// CPU). Two keys of a million share a hash with odds of about 1e-26.
func hashKey(key string) [2]uint64 {
	return [2]uint64{maphash.String(keySeeds[0], key), maphash.String(keySeeds[1], key)}
}

// keyTable maps a key's hashKey to its place in keys, by open addressing
// with linear probes: the hash is already uniform, so its first word picks
// the slot, and a lookup is usually one slot read. A Go map of the same
// keys, hashing them again and growing by splits, was a quarter of this
// server's CPU under the forwarding benchmarks.
type keyTable struct {
	slots []keySlot // a power of two long, at most half full
	n     int
}

type keySlot struct {
	h     [2]uint64
	place int32 // the key's place in keys plus one; 0 is an empty slot
}

// get returns the place of the key hashed h.
func (t *keyTable) get(h [2]uint64) (int32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := h[0] & mask; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.place == 0 {
			return 0, false
		}
		if sl.h == h {
			return sl.place - 1, true
		}
	}
}

// put places the key hashed h, which it does not hold, at place.
func (t *keyTable) put(h [2]uint64, place int32) {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.slots = make([]keySlot, max(1024, 2*len(old)))
		t.n = 0
		for _, sl := range old {
			if sl.place != 0 {
				t.put(sl.h, sl.place-1)
			}
		}
	}
	mask := uint64(len(t.slots) - 1)
	i := h[0] & mask
	for t.slots[i].place != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = keySlot{h: h, place: place + 1}
	t.n++
}

// keyStates holds keyStates in chunks, each never moved once made: a
// benchmark's millions of keys in one slice were copied over and over as
// it grew (a tenth of this server's CPU).
type keyStates struct {
	chunks [][]keyState
	n      int
}

const keyChunk = 4096

// add appends the state of key and returns its place.
func (ks *keyStates) add(key string) int32 {
	if ks.n%keyChunk == 0 {
		ks.chunks = append(ks.chunks, make([]keyState, 0, keyChunk))
	}
	c := &ks.chunks[len(ks.chunks)-1]
	*c = append(*c, keyState{key: key})
	ks.n++
	return int32(ks.n - 1)
}

func (ks *keyStates) at(i int32) *keyState { return &ks.chunks[i/keyChunk][i%keyChunk] }

func (ks *keyStates) each(fn func(*keyState)) {
	for _, c := range ks.chunks {
		for i := range c {
			fn(&c[i])
		}
	}
}

// Stats summarise what the server has seen.
type Stats struct {
	// Requests counts requests to the event endpoint.
	Requests int64
	// Indexed counts indexed events, duplicates included; Unique counts
	// distinct events (by org_id, session_id and event_id).
	Indexed int64
	Unique  int
	// Rejected counts event requests answered with an error or dropped.
	Rejected int64
	// InFlight counts event requests being handled now.
	InFlight int
	// Conns counts open client connections. After a client dies, Conns
	// reaching 0 means every request it had sent has been handled.
	Conns int
	// Overlaps counts events that arrived while another request carrying
	// the same event was still being handled.
	Overlaps int
	// PendingFaults counts injected faults not yet used.
	PendingFaults int
	// AckQueries counts requests to the ack endpoint.
	AckQueries int64
	// Gzipped counts event requests sent with Content-Encoding: gzip.
	Gzipped int64
}

// New starts a server; Close stops it.
func New(opts Options) *Server {
	if opts.Token == "" {
		panic("hectest: Options.Token is required")
	}
	if opts.MaxContentLength <= 0 {
		opts.MaxContentLength = 1 << 20
	}
	s := &Server{
		opts:     opts,
		changed:  make(chan struct{}),
		token:    opts.Token,
		channels: map[string]*channel{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/services/collector", s.handleEvents)
	mux.HandleFunc("/services/collector/event", s.handleEvents)
	mux.HandleFunc("/services/collector/event/1.0", s.handleEvents)
	mux.HandleFunc("/services/collector/ack", s.handleAck)
	mux.HandleFunc("/services/collector/health", s.handleHealth)
	mux.HandleFunc("/services/collector/health/1.0", s.handleHealth)
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			s.update(func() { s.stats.Conns++ })
		case http.StateClosed, http.StateHijacked:
			s.update(func() { s.stats.Conns-- })
		}
	}
	s.srv.Start()
	return s
}

// URL returns the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// SetToken rotates the valid token: the old one is refused from now on.
func (s *Server) SetToken(token string) { s.update(func() { s.token = token }) }

// DisableToken disables (or re-enables) the token: 403 code 1.
func (s *Server) DisableToken(disabled bool) { s.update(func() { s.disabled = disabled }) }

// Poison makes every event whose event JSON contains marker invalid: 400
// code 6 with its invalid-event-number. An empty marker turns it off.
func (s *Server) Poison(marker string) { s.update(func() { s.poison = marker }) }

// SetUnhealthy makes the health endpoint answer 503 code 18 (queues full).
func (s *Server) SetUnhealthy(unhealthy bool) { s.update(func() { s.unwell = unhealthy }) }

// WithholdAcks makes the next n ackIds never acknowledged, as when an
// indexer fails before replicating: the client must time out and resend.
func (s *Server) WithholdAcks(n int) { s.update(func() { s.withhold += n }) }

// Stats returns the current statistics.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statsLocked()
}

func (s *Server) statsLocked() Stats {
	st := s.stats
	st.Unique = s.keys.n
	st.PendingFaults = len(s.faults)
	return st
}

// WaitFor blocks until cond holds for the statistics or ctx ends. Every
// request that changes them wakes it.
func (s *Server) WaitFor(ctx context.Context, cond func(Stats) bool) error {
	for {
		s.mu.Lock()
		st, ch := s.statsLocked(), s.changed
		s.mu.Unlock()
		if cond(st) {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-ch:
		}
	}
}

// Events returns the indexed events in arrival order (nil with
// DiscardEvents).
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Counts returns how many times each event (by Event.Key) was indexed.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, s.keys.n)
	s.keys.each(func(k *keyState) { out[k.key] = int(k.count) })
	return out
}

// Ambiguous returns the keys of events indexed by a request whose reply
// the client never received (CutAfterIndex): their duplicates are
// expected.
func (s *Server) Ambiguous() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool)
	s.keys.each(func(k *keyState) {
		if k.cut {
			out[k.key] = true
		}
	})
	return out
}

// update runs fn under the lock and wakes WaitFor.
func (s *Server) update(fn func()) {
	s.mu.Lock()
	fn()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}
