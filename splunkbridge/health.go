package splunkbridge

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// HealthReport is the forwarder's health as the API and MCP tools show it.
type HealthReport struct {
	// Enabled is false when no HEC is configured; every other field is
	// then zero.
	Enabled bool `json:"enabled"`
	// QueueDepth counts events not yet delivered (leased or not).
	QueueDepth int64 `json:"queue_depth"`
	// OldestUndeliveredSeconds is the age of the oldest undelivered event.
	OldestUndeliveredSeconds float64 `json:"oldest_undelivered_seconds"`
	// Delivered counts events delivered since this process started.
	Delivered int64 `json:"delivered"`
	// DeadLetters counts events Splunk refused, kept for an operator.
	DeadLetters int64 `json:"dead_letters"`
	// LastError is the latest failure, or empty.
	LastError   string     `json:"last_error"`
	LastErrorAt *time.Time `json:"last_error_at"`
	// LastSuccess is when Splunk last accepted a request.
	LastSuccess *time.Time `json:"last_success"`
	// Paused reports a configuration error (token, index, channel) that
	// stops sending; PauseReason says what to fix. Nothing is dropped.
	Paused      bool   `json:"paused"`
	PauseReason string `json:"pause_reason"`
	// RetryAt is when sending resumes after a failure or pause, if held.
	RetryAt *time.Time `json:"retry_at"`
	// Endpoint is HEC's own health, polled periodically.
	Endpoint EndpointHealth `json:"hec_endpoint"`
	// StatsError is set when the outbox could not be read.
	StatsError string `json:"stats_error,omitempty"`
}

// EndpointHealth is the last answer of HEC's health endpoint
// (GET /services/collector/health).
type EndpointHealth struct {
	URL string `json:"url"`
	// Healthy is true on 200 with code 17.
	Healthy   bool       `json:"healthy"`
	Status    int        `json:"status"`
	Code      int        `json:"code"`
	Text      string     `json:"text"`
	Error     string     `json:"error,omitempty"`
	CheckedAt *time.Time `json:"checked_at"`
}

// DisabledHealth is the report when no HEC is configured: AgentScope then
// keeps no outbox, so there is no queue to report.
func DisabledHealth() HealthReport { return HealthReport{} }

// Health reports the forwarder's state and the outbox's. A nil forwarder
// reports DisabledHealth, so callers need not branch on configuration.
func (f *Forwarder) Health(ctx context.Context) HealthReport {
	if f == nil {
		return DisabledHealth()
	}
	now := f.opts.clock.Now()
	r := HealthReport{Enabled: true}
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
		e := EndpointHealth{URL: s.endpoint.URL, CheckedAt: &now, Status: reply.Status, Code: reply.Code, Text: reply.Text}
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
func (f *Forwarder) CheckEndpoint(ctx context.Context) EndpointHealth {
	f.checkEndpoint(ctx)
	var e EndpointHealth
	f.state.read(func(s *state) { e = s.endpoint })
	return e
}
