// Package metrics holds AgentScope's Prometheus metrics: one Metrics value
// per process, built by cmd/agentscope and handed to the parts that count
// (the recorder, the HEC forwarder, the runtime, the MCP server, web) in
// their options. A nil *Metrics counts nothing, at the cost of a nil check.
//
// Counters and histograms are this process's. Gauges that describe state
// every node shares (the Splunk outbox, dead letters, runs by state) are
// read from the database at scrape time (Options.State), so every node
// reports the same truth.
//
// No label carries an organisation, a session or text a caller chose:
// tool names come from the MCP server's own tool list, reasons and
// outcomes from fixed sets, providers and models from the operator's
// pricing table (others are "other"), HEC statuses are HTTP status codes.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure a Metrics.
type Options struct {
	// State reads the shared state at scrape time; nil leaves its gauges
	// out.
	State func(ctx context.Context) (SharedState, error)
	// StateTimeout bounds State (default 2s); past it, or on an error,
	// agentscope_shared_state_up is 0 and the state's gauges are absent.
	StateTimeout time.Duration
	// LiveSubscribers counts this process's live subscriptions (the live
	// hub's) at scrape time; nil leaves agentscope_live_subscribers out.
	LiveSubscribers func() int
	// Logger reports a failed state read and a failed scrape.
	Logger *slog.Logger
}

// SharedState is what the database says at scrape time, for every
// organisation together.
type SharedState struct {
	// OutboxDepth is the events and audit entries waiting for Splunk.
	OutboxDepth int64
	// OutboxOldest is when the oldest of them was enqueued; zero when the
	// outbox is empty.
	OutboxOldest time.Time
	// DeadLetters is the entries Splunk refused.
	DeadLetters int64
	// Runs counts runs by state; RunStates are always reported (0 when
	// missing).
	Runs map[string]int64
}

// RunStates are the run states agentscope_runs reports, every one a run
// can be in.
var RunStates = []string{"queued", "running", "completed", "failed", "cancelled"}

// RefusalReasons are the values of agentscope_refusals_total's reason: a
// budget's hard cap, a billing plan's limit.
var RefusalReasons = []string{"budget_hard_cap", "plan_limit"}

// Refused are the values of agentscope_refusals_total's what: what was
// refused.
var Refused = map[string][]string{
	// A gateway call, a managed run's start (admission), a running
	// managed run's next model call.
	"budget_hard_cap": {"gateway_call", "run_start", "model_call"},
	// Events past the plan's monthly events, a seat (invitation), an API
	// key, a managed run past the plan's managed-run spend, a gateway call
	// whose events the plan would not store.
	"plan_limit": {"events", "seat", "api_key", "managed_run", "gateway_call"},
}

// RejectReasons are the values of agentscope_events_rejected_total's
// reason: AgentScope's error codes an append can end in, and "other".
var RejectReasons = []string{"invalid", "conflict", "not_found", "forbidden", "plan_limit", "too_large", "unavailable", "rate_limited", "internal", "other"}

// Metrics is one process's collectors. Its methods are safe for
// concurrent use and do nothing on a nil *Metrics.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	eventsIngested   prometheus.Counter
	eventsDuplicate  prometheus.Counter
	eventsRejected   map[string]prometheus.Counter
	commitDuration   prometheus.Histogram
	commitEvents     prometheus.Histogram
	hecDeliveries    *prometheus.CounterVec
	hecDelivered     prometheus.Counter
	hecDeadLettered  prometheus.Counter
	runQueueLatency  prometheus.Histogram
	runsTakenOver    prometheus.Counter
	modelTokens      *prometheus.CounterVec
	modelCost        *prometheus.CounterVec
	modelCalls       *prometheus.CounterVec
	modelDuration    *prometheus.HistogramVec
	mcpCalls         *prometheus.CounterVec
	gatewayRequests  *prometheus.CounterVec
	gatewayDuration  *prometheus.HistogramVec
	refusals         map[[2]string]prometheus.Counter
	websocketClients prometheus.Gauge
}

// New returns a Metrics whose registry holds every AgentScope collector,
// the Go runtime's and the process's.
func New(opts Options) *Metrics {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.StateTimeout <= 0 {
		opts.StateTimeout = 2 * time.Second
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: opts.Logger.With("component", "metrics")}
	f := factory{m.reg}
	m.eventsIngested = f.counter("agentscope_events_ingested_total", "Events committed to the store by this process (duplicates of stored events not counted).")
	m.eventsDuplicate = f.counter("agentscope_events_duplicate_total", "Events sent again with an event_id already stored, answered with the stored event.")
	rejected := f.counterVec("agentscope_events_rejected_total", "Events this process refused on ingest (the service's checks and the recorder's), by reason (an error code).", "reason")
	m.eventsRejected = make(map[string]prometheus.Counter, len(RejectReasons))
	for _, r := range RejectReasons {
		m.eventsRejected[r] = rejected.WithLabelValues(r)
	}
	m.commitDuration = f.histogram("agentscope_commit_duration_seconds", "Time of one group commit (a transaction of many callers' events).",
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5})
	m.commitEvents = f.histogram("agentscope_commit_events", "Events in one group commit.",
		[]float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000})
	m.hecDeliveries = f.counterVec("agentscope_hec_deliveries_total", "Requests to Splunk's HEC by this process, by HTTP status (\"error\": no answer).", "status")
	m.hecDelivered = f.counter("agentscope_hec_events_delivered_total", "Events and audit entries Splunk accepted from this process.")
	m.hecDeadLettered = f.counter("agentscope_hec_dead_letters_total", "Events Splunk refused that this process moved to dead letters.")
	m.runQueueLatency = f.histogram("agentscope_run_queue_latency_seconds", "Time from a managed run being queued to its first attempt starting, on this process's workers.",
		[]float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900})
	m.runsTakenOver = f.counter("agentscope_runs_taken_over_total", "Managed runs this process took over from a worker whose lease lapsed (it died or lost the database), to attempt them again or, after their last attempt, fail them.")
	m.modelTokens = f.counterVec("agentscope_model_tokens_total", "Tokens of the model calls this process made, by provider, model and kind (input, output, cache_read).", "provider", "model", "kind")
	m.modelCost = f.counterVec("agentscope_model_cost_usd_total", "Cost in USD of the model calls this process made, priced from the pricing table.", "provider", "model")
	m.modelCalls = f.counterVec("agentscope_model_calls_total", "Model calls this process made, by provider, model and outcome (ok, error).", "provider", "model", "outcome")
	m.modelDuration = f.histogramVec("agentscope_model_call_duration_seconds", "Latency of the model calls this process made.",
		[]float64{.1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80, 160}, "provider", "model")
	m.mcpCalls = f.counterVec("agentscope_mcp_calls_total", "MCP tool calls this process answered, by tool and outcome (ok, error).", "tool", "outcome")
	m.gatewayRequests = f.counterVec("agentscope_gateway_requests_total", "Requests through the LLM gateway, by provider and outcome.", "provider", "outcome")
	m.gatewayDuration = f.histogramVec("agentscope_gateway_request_duration_seconds", "Latency of requests through the LLM gateway.",
		[]float64{.1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80, 160}, "provider")
	refusals := f.counterVec("agentscope_refusals_total", "What this process refused for a budget's hard cap or a plan's limit, by reason (budget_hard_cap, plan_limit) and what (gateway_call, run_start, model_call; events, seat, api_key, managed_run).", "reason", "what")
	m.refusals = map[[2]string]prometheus.Counter{}
	for _, reason := range RefusalReasons {
		for _, what := range Refused[reason] {
			m.refusals[[2]string{reason, what}] = refusals.WithLabelValues(reason, what)
		}
	}
	m.websocketClients = f.gauge("agentscope_websocket_subscribers", "Websockets this process is streaming live events to.")
	if opts.LiveSubscribers != nil {
		count := opts.LiveSubscribers
		f.register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentscope_live_subscribers",
			Help: "Live subscriptions (websockets, MCP resource subscriptions, waiting API calls) on this process."},
			func() float64 { return float64(count()) }))
	}
	if opts.State != nil {
		m.reg.MustRegister(&stateCollector{read: opts.State, timeout: opts.StateTimeout, log: m.log})
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's text format (or OpenMetrics
// when asked); it does no authentication.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{m.log}, ErrorHandling: promhttp.ContinueOnError})
}

// Committed counts one group commit: its events, how long it took, and
// what it appended.
func (m *Metrics) Committed(took time.Duration, events, appended, duplicates int) {
	if m == nil {
		return
	}
	m.commitDuration.Observe(took.Seconds())
	m.commitEvents.Observe(float64(events))
	m.eventsIngested.Add(float64(appended))
	if duplicates > 0 {
		m.eventsDuplicate.Add(float64(duplicates))
	}
}

// Ingested counts events appended outside a group commit, in another
// transaction of their own: a managed run's queueing and cancelling (with
// its job), alerts raised (with their deliveries).
func (m *Metrics) Ingested(appended int) {
	if m == nil || appended <= 0 {
		return
	}
	m.eventsIngested.Add(float64(appended))
}

// Rejected counts n events refused with an error of code (an
// agentscope error code; one outside RejectReasons counts as "other").
func (m *Metrics) Rejected(code string, n int) {
	if m == nil || n <= 0 {
		return
	}
	c, ok := m.eventsRejected[code]
	if !ok {
		c = m.eventsRejected["other"]
	}
	c.Add(float64(n))
	if code == "plan_limit" {
		m.refusals[[2]string{"plan_limit", "events"}].Add(float64(n))
	}
}

// Refusal counts one refusal for reason (one of RefusalReasons) of what
// (one of Refused[reason]); another pair is a programming error and
// counts nothing.
func (m *Metrics) Refusal(reason, what string) {
	if m == nil {
		return
	}
	if c, ok := m.refusals[[2]string{reason, what}]; ok {
		c.Inc()
	}
}

// HECRequest counts one request to HEC: its HTTP status, 0 when none came.
func (m *Metrics) HECRequest(status int) {
	if m == nil {
		return
	}
	label := "error"
	if status >= 100 && status <= 599 {
		label = strconv.Itoa(status)
	}
	m.hecDeliveries.WithLabelValues(label).Inc()
}

// HECDelivered counts n entries Splunk accepted.
func (m *Metrics) HECDelivered(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.hecDelivered.Add(float64(n))
}

// HECDeadLettered counts one entry moved to dead letters.
func (m *Metrics) HECDeadLettered() {
	if m == nil {
		return
	}
	m.hecDeadLettered.Inc()
}

// RunQueued observes how long a run waited between being queued and its
// first attempt starting.
func (m *Metrics) RunQueued(wait time.Duration) {
	if m == nil {
		return
	}
	m.runQueueLatency.Observe(max(wait, 0).Seconds())
}

// RunTakenOver counts one run taken over from a worker whose lease lapsed.
func (m *Metrics) RunTakenOver() {
	if m == nil {
		return
	}
	m.runsTakenOver.Inc()
}

// ModelCall describes one model call for ModelCalled. Provider and Model
// must come from a bounded set (the pricing table's names, else "other").
type ModelCall struct {
	Provider, Model string
	// OK is false when the call failed (no answer, or an error status).
	OK       bool
	Duration time.Duration
	// Tokens as the provider reported them.
	InputTokens, OutputTokens, CacheReadTokens int64
	// CostUSD is the call's priced cost; Priced is false when unknown.
	CostUSD float64
	Priced  bool
}

// ModelCalled counts one model call.
func (m *Metrics) ModelCalled(c ModelCall) {
	if m == nil {
		return
	}
	outcome := "ok"
	if !c.OK {
		outcome = "error"
	}
	m.modelCalls.WithLabelValues(c.Provider, c.Model, outcome).Inc()
	m.modelDuration.WithLabelValues(c.Provider, c.Model).Observe(c.Duration.Seconds())
	for _, t := range []struct {
		kind string
		n    int64
	}{{"input", c.InputTokens}, {"output", c.OutputTokens}, {"cache_read", c.CacheReadTokens}} {
		if t.n > 0 {
			m.modelTokens.WithLabelValues(c.Provider, c.Model, t.kind).Add(float64(t.n))
		}
	}
	if c.Priced && c.CostUSD > 0 {
		m.modelCost.WithLabelValues(c.Provider, c.Model).Add(c.CostUSD)
	}
}

// GatewayRequest counts one request through the LLM gateway. provider
// must come from a bounded set (the gateway's configured providers);
// outcome from a fixed one (e.g. ok, error, refused).
func (m *Metrics) GatewayRequest(provider, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.gatewayRequests.WithLabelValues(provider, outcome).Inc()
	m.gatewayDuration.WithLabelValues(provider).Observe(took.Seconds())
}

// ToolCalls are one MCP tool's counters, resolved once when the tool is
// registered so a call costs no label lookup. The zero value (from a nil
// Metrics) counts nothing.
type ToolCalls struct {
	ok, failed prometheus.Counter
}

// MCPTool returns the counters of the tool named name, one of the MCP
// server's own tools.
func (m *Metrics) MCPTool(name string) ToolCalls {
	if m == nil {
		return ToolCalls{}
	}
	return ToolCalls{ok: m.mcpCalls.WithLabelValues(name, "ok"), failed: m.mcpCalls.WithLabelValues(name, "error")}
}

// Done counts one call: failed when it answered an error (isError or a
// protocol error).
func (t ToolCalls) Done(failed bool) {
	switch {
	case t.ok == nil:
	case failed:
		t.failed.Inc()
	default:
		t.ok.Inc()
	}
}

// WebsocketOpened counts a live websocket until the returned func is
// called (when it closes).
func (m *Metrics) WebsocketOpened() (closed func()) {
	if m == nil {
		return func() {}
	}
	m.websocketClients.Inc()
	return m.websocketClients.Dec
}

// stateCollector reads SharedState at scrape time.
type stateCollector struct {
	read    func(ctx context.Context) (SharedState, error)
	timeout time.Duration
	log     *slog.Logger
}

var (
	descUp          = prometheus.NewDesc("agentscope_shared_state_up", "1 when the database answered the scrape's state queries within the timeout, else 0 (and the state's gauges are absent).", nil, nil)
	descOutboxDepth = prometheus.NewDesc("agentscope_outbox_depth", "Events and audit entries waiting in the Splunk outbox (all organisations, every node).", nil, nil)
	descOutboxAge   = prometheus.NewDesc("agentscope_outbox_oldest_age_seconds", "Age of the oldest entry waiting in the Splunk outbox; 0 when it is empty.", nil, nil)
	descDeadLetters = prometheus.NewDesc("agentscope_dead_letters", "Entries Splunk refused, kept in dead letters until retried.", nil, nil)
	descRuns        = prometheus.NewDesc("agentscope_runs", "Runs by state (queued, running, completed, failed, cancelled), all organisations; the finished states are read at most once a minute.", []string{"state"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descOutboxDepth, descOutboxAge, descDeadLetters, descRuns} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.read(ctx)
	if err != nil {
		c.log.Warn("read the shared state for metrics", "err", err)
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descOutboxDepth, prometheus.GaugeValue, float64(st.OutboxDepth))
	age := 0.0
	if !st.OutboxOldest.IsZero() {
		age = max(time.Since(st.OutboxOldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(descOutboxAge, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.GaugeValue, float64(st.DeadLetters))
	for _, s := range RunStates {
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.GaugeValue, float64(st.Runs[s]), s)
	}
}

// factory registers collectors on one registry.
type factory struct{ reg *prometheus.Registry }

func (f factory) register(c prometheus.Collector) { f.reg.MustRegister(c) }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.register(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.register(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.register(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.register(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.register(h)
	return h
}

// slogPrinter is promhttp's error log, as slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("serve metrics", "err", v) }
