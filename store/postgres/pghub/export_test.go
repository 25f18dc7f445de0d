package pghub

import (
	"context"
	"time"
)

// ListenerPID returns the backend pid of the LISTEN connection (0 while it
// is down).
func (h *Hub) ListenerPID() uint32 { return h.listenerPID.Load() }

// Sent returns how many notifications the hub has sent.
func (h *Hub) Sent() int64 { return h.sent.Load() }

// Flush returns once everything Publish queued before it has been sent (or
// failed to be).
func (h *Hub) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case h.queue <- queued{flushed: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Peers returns how many listening peers the hub has heard from and not
// yet forgotten.
func (h *Hub) Peers() int {
	h.alone() // forgets the quiet ones
	h.peersMu.Lock()
	defer h.peersMu.Unlock()
	return len(h.peers)
}

// WaitPeers returns once the hub has heard from n listening peers.
func (h *Hub) WaitPeers(ctx context.Context, n int) error {
	for h.Peers() < n {
		select {
		case <-h.newPeer:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// SetClock replaces the clock the hub ages its peers by.
func (h *Hub) SetClock(now func() time.Time) {
	h.peersMu.Lock()
	defer h.peersMu.Unlock()
	h.now = now
}
