package pghub

import "context"

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
