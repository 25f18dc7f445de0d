package splunkbridge

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
)

// HECConfig configures a Forwarder. The zero value of every tuning field
// means its default.
type HECConfig struct {
	// URL is HEC's base URL, e.g. https://splunk:8088.
	URL string
	// Token is the HEC token. It is sent only in the Authorization header
	// and never appears in logs, errors or health reports.
	Token string
	// Index is the index of every event; empty leaves it to the token's
	// default index.
	Index string
	// Host is the host field of every event; default os.Hostname().
	Host string
	// Ack turns on indexer acknowledgement: a batch leaves the outbox only
	// once Splunk acknowledges it, and is sent again if no acknowledgement
	// comes within AckTimeout.
	Ack bool
	// AckTimeout is how long to wait for an acknowledgement; default 2m.
	AckTimeout time.Duration
	// AckPollInterval is how often pending acknowledgements are queried;
	// default 2s.
	AckPollInterval time.Duration
	// CAFile and InsecureSkipVerify configure TLS as in Config.
	CAFile             string
	InsecureSkipVerify bool
	// BatchEvents bounds the events of one request; default 500.
	BatchEvents int
	// BatchBytes bounds the uncompressed bytes of one request; default
	// 900 KB, at most 1 MiB (Splunk's classic max_content_length).
	BatchBytes int
	// Concurrency is the number of requests in flight; default 4.
	Concurrency int
	// Timeout bounds one request; default 30s.
	Timeout time.Duration
}

// Defaults of HECConfig's tuning fields.
const (
	DefaultBatchEvents     = 500
	DefaultBatchBytes      = 900 << 10
	DefaultConcurrency     = 4
	DefaultAckTimeout      = 2 * time.Minute
	DefaultAckPollInterval = 2 * time.Second
	maxBatchBytes          = 1 << 20
)

// normalize applies defaults and checks c, returning the base URL.
func (c *HECConfig) normalize() (string, error) {
	base, err := hecBaseURL(c.URL)
	if err != nil {
		return "", fmt.Errorf("HEC URL: %w", err)
	}
	if c.Token == "" {
		return "", fmt.Errorf("HEC token is required")
	}
	for _, r := range c.Token {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("HEC token contains whitespace or control characters")
		}
	}
	if c.Index != "" {
		if err := agentscope.ValidateIndexName(c.Index); err != nil {
			return "", err
		}
	}
	if c.Host == "" {
		c.Host = defaultHost()
	}
	setDefault(&c.BatchEvents, DefaultBatchEvents)
	setDefault(&c.BatchBytes, DefaultBatchBytes)
	setDefault(&c.Concurrency, DefaultConcurrency)
	setDefault(&c.AckTimeout, DefaultAckTimeout)
	setDefault(&c.AckPollInterval, DefaultAckPollInterval)
	setDefault(&c.Timeout, requestTimeout)
	switch {
	case c.BatchEvents < 1 || c.BatchEvents > 100_000:
		return "", fmt.Errorf("BatchEvents must be 1-100000, got %d", c.BatchEvents)
	case c.BatchBytes < 1<<10 || c.BatchBytes > maxBatchBytes:
		return "", fmt.Errorf("BatchBytes must be 1 KiB-1 MiB, got %d", c.BatchBytes)
	case c.Concurrency < 1 || c.Concurrency > 64:
		return "", fmt.Errorf("concurrency must be 1-64, got %d", c.Concurrency)
	case c.AckTimeout < 0 || c.AckPollInterval < 0 || c.Timeout < 0:
		return "", fmt.Errorf("durations must not be negative")
	}
	return base, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Option adjusts a Forwarder beyond its HECConfig.
type Option func(*options)

type options struct {
	logger         *slog.Logger
	owner          string
	clock          Clock
	httpClient     *http.Client
	backoff        backoff
	pauseRetry     time.Duration
	lease          time.Duration
	pollInterval   time.Duration
	healthInterval time.Duration
	stopGrace      time.Duration
	metrics        *metrics.Metrics
}

func defaultOptions() options {
	host, _ := os.Hostname()
	return options{
		logger:         slog.Default(),
		owner:          fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8]),
		clock:          systemClock{},
		backoff:        backoff{min: time.Second, max: 5 * time.Minute},
		pauseRetry:     30 * time.Second,
		pollInterval:   time.Second,
		healthInterval: 30 * time.Second,
		stopGrace:      10 * time.Second,
	}
}

// WithLogger sets the logger; the forwarder adds component=hec-forwarder.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithOwner names this forwarder in outbox leases. It must be unique among
// running forwarders; the default (host, pid and a random suffix) is.
func WithOwner(owner string) Option { return func(o *options) { o.owner = owner } }

// WithClock replaces the system clock, for tests. The store should read the
// same clock (sqlstore.Options.Now), as leases and retry times compare
// across the two.
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// WithHTTPClient replaces the HTTP client built from the TLS settings.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithBackoff sets the retry delays after transient failures: min after
// the first, doubling to max (defaults 1s and 5m), with jitter. A server's
// Retry-After takes precedence.
func WithBackoff(minDelay, maxDelay time.Duration) Option {
	return func(o *options) { o.backoff.min, o.backoff.max = minDelay, maxDelay }
}

// WithPauseRetry sets how often a forwarder paused by a configuration
// error (a refused token, a wrong index) tries again; default 30s.
func WithPauseRetry(d time.Duration) Option { return func(o *options) { o.pauseRetry = d } }

// WithLease sets how long a claimed batch stays reserved to this forwarder.
// It must cover queueing, sending and, with acknowledgement, the ack
// timeout; when it lapses another forwarder may send the batch again. The
// default is 3 minutes plus AckTimeout when Ack is on.
func WithLease(d time.Duration) Option { return func(o *options) { o.lease = d } }

// WithPollInterval sets how long an idle forwarder waits before looking for
// new entries again, unless Notify wakes it first; default 1s.
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.pollInterval = d } }

// WithHealthInterval sets how often HEC's health endpoint is polled;
// default 30s.
func WithHealthInterval(d time.Duration) Option { return func(o *options) { o.healthInterval = d } }

// WithMetrics counts HEC requests by status, entries delivered and dead
// letters; without it nothing is counted.
func WithMetrics(m *metrics.Metrics) Option { return func(o *options) { o.metrics = m } }

// WithStopGrace bounds how long Stop lets in-flight requests finish before
// cancelling them; default 10s.
func WithStopGrace(d time.Duration) Option { return func(o *options) { o.stopGrace = d } }

// String describes c with the token redacted.
func (c HECConfig) String() string {
	return fmt.Sprintf("url=%q token=%s index=%q host=%q ack=%t ca_file=%q insecure_skip_verify=%t",
		c.URL, redact(c.Token), c.Index, c.Host, c.Ack, c.CAFile, c.InsecureSkipVerify)
}

// LogValue implements slog.LogValuer with the token redacted.
func (c HECConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }
