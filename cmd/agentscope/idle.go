package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// sweepIdleSessions ends the sessions each capture path recorded (metadata
// source: "otlp" for OTLP traces, "gateway" for the LLM gateway) that have
// had no event for that source's idle duration (service.EndIdleSessions),
// checking every quarter of the shortest (at most every minute, at least
// every second), until ctx ends or the returned stop is called. A source
// with 0 is never ended. Every serve sweeps: a session another process
// ended first is left as it is. A session ended here and then used again
// is resumed by its capture path.
//
// The gateway ends the sessions it keeps for a key and agent itself; this
// sweep ends the rest: sessions named by X-AgentScope-Session-Id, and those
// a restart left behind.
func sweepIdleSessions(ctx context.Context, svc *service.Service, idle map[string]time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(agentscope.DefaultOrgID)))
	done := make(chan struct{})
	every := time.Minute
	for _, d := range idle {
		if d > 0 {
			every = min(every, max(d/4, time.Second))
		}
	}
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
			for source, d := range idle {
				if d <= 0 {
					continue
				}
				if _, err := svc.EndIdleSessions(ctx, source, d); err != nil && ctx.Err() == nil {
					log.Warn("end idle capture sessions", "source", source, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
