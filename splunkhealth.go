package agentscope

import "time"

// SplunkHealth is the Splunk forwarder's health as the API, the MCP tools and
// the UI show it. splunkbridge's Forwarder reports it.
type SplunkHealth struct {
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
	Endpoint HECEndpointHealth `json:"hec_endpoint"`
	// StatsError is set when the outbox could not be read.
	StatsError string `json:"stats_error,omitempty"`
}

// HECEndpointHealth is the last answer of HEC's health endpoint
// (GET /services/collector/health).
type HECEndpointHealth struct {
	URL string `json:"url"`
	// Healthy is true on 200 with code 17.
	Healthy   bool       `json:"healthy"`
	Status    int        `json:"status"`
	Code      int        `json:"code"`
	Text      string     `json:"text"`
	Error     string     `json:"error,omitempty"`
	CheckedAt *time.Time `json:"checked_at"`
}
