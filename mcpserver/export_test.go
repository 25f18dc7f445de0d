package mcpserver

import (
	"context"
	"fmt"
	"time"
)

// WaitWatchers waits until n goroutines follow subscribed sessions.
func (s *Server) WaitWatchers(ctx context.Context, n int) error {
	for {
		s.watches.mu.Lock()
		running := s.watches.running
		if s.watches.changed == nil {
			s.watches.changed = make(chan struct{})
		}
		changed := s.watches.changed
		s.watches.mu.Unlock()
		if running == n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%d session followers running, want %d: %w", running, n, ctx.Err())
		}
	}
}

// FastAnswered is how many record_event calls the fast path answered.
func (s *Server) FastAnswered() int64 { return s.fast.answered.Load() }

// DisableFastPath sends every call through go-sdk.
func (s *Server) DisableFastPath() { s.fast.off = true }

// SetFastClock replaces the fast path's clock.
func (s *Server) SetFastClock(now func() time.Time) { s.fast.now = now }
