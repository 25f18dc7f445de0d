package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// sweepIdleSessions ends the sessions recorded from OTLP traces that have
// had no event for idle (service.EndIdleSessions), checking every quarter
// of idle (at most every minute, at least every second), until ctx ends or
// the returned stop is called. Every serve sweeps: a session another
// process ended first is left as it is.
func sweepIdleSessions(ctx context.Context, svc *service.Service, idle time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(agentscope.DefaultOrgID)))
	done := make(chan struct{})
	every := min(max(idle/4, time.Second), time.Minute)
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := svc.EndIdleSessions(ctx, "otlp", idle); err != nil && ctx.Err() == nil {
				log.Warn("end idle OTLP sessions", "err", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}
