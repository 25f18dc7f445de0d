package splunkbridge

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/agentscope/agentscope"
)

// DisabledHealth is the report when no HEC is configured: AgentScope then
// keeps no outbox, so there is no queue to report.
func DisabledHealth() agentscope.SplunkHealth { return agentscope.SplunkHealth{} }

// Health reports the forwarder's state and the outbox's. A nil forwarder
// reports DisabledHealth, so callers need not branch on configuration.
func (f *Forwarder) Health(ctx context.Context) agentscope.SplunkHealth {
	if f == nil {
		return DisabledHealth()
	}
	now := f.opts.clock.Now()
	r := agentscope.SplunkHealth{Enabled: true}
	f.state.read(func(s *state) {
		r.Delivered = s.p.Delivered
		r.LastError, r.LastErrorAt = s.lastError, timePtr(s.lastErrorAt)
		r.LastSuccess = timePtr(s.lastSuccess)
		r.Paused, r.PauseReason = s.p.Paused, s.pauseReason
		if s.holdUntil.After(now) {
			r.RetryAt = timePtr(s.holdUntil)
		}
		r.Endpoint = s.endpoint
	})
	st, err := f.outbox.OutboxStats(ctx)
	if err != nil {
		r.StatsError = fmt.Sprintf("read outbox stats: %v", err)
		return r
	}
	r.QueueDepth, r.DeadLetters = st.QueueDepth, st.DeadLetters
	if !st.OldestCreated.IsZero() {
		r.OldestUndeliveredSeconds = max(0, now.Sub(st.OldestCreated).Seconds())
	}
	return r
}

// healthLoop polls HEC's health endpoint until ctx ends.
func (f *Forwarder) healthLoop(ctx context.Context) {
	for {
		f.checkEndpoint(ctx)
		if !f.sleep(ctx, f.opts.healthInterval) {
			return
		}
	}
}

func (f *Forwarder) checkEndpoint(ctx context.Context) {
	reply, err := f.hec.health(ctx)
	if ctx.Err() != nil {
		return
	}
	now := f.opts.clock.Now()
	f.state.update(func(s *state) {
		e := agentscope.HECEndpointHealth{URL: s.endpoint.URL, CheckedAt: &now, Status: reply.Status, Code: reply.Code, Text: reply.Text}
		if err != nil {
			e.Error = err.Error()
		}
		e.Healthy = err == nil && reply.Status == http.StatusOK && reply.Code == hecHealthy
		s.endpoint = e
	})
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CheckEndpoint polls HEC's health endpoint now, for a process that does
// not run the forwarder's loop (agentscope splunk status), and returns the
// result, which Health reports from then on.
func (f *Forwarder) CheckEndpoint(ctx context.Context) agentscope.HECEndpointHealth {
	f.checkEndpoint(ctx)
	var e agentscope.HECEndpointHealth
	f.state.read(func(s *state) { e = s.endpoint })
	return e
}
