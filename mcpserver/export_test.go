package mcpserver

import (
	"context"
	"fmt"
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
