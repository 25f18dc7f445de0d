package mcpproxy

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Sink is where a session's records go: the local store (through the
// service) or a remote AgentScope's HTTP API.
type Sink interface {
	// StartSession opens the session with its agent and input
	// (start_run), begun at startedAt, by the proxy's clock as its events
	// are: the start may reach the sink after them. The session id is
	// chosen by the proxy. The sink labels the run with SessionMetadata.
	StartSession(ctx context.Context, sessionID, agent string, input json.RawMessage, startedAt time.Time) error
	// Record appends events (each a JSON object as POST /api/v1/events
	// takes it) to their sessions.
	Record(ctx context.Context, events []json.RawMessage) error
	// EndSession ends the session (end_run) with status completed or
	// failed, and the error text of a failure.
	EndSession(ctx context.Context, sessionID, status, errText string) error
}

// RecorderOptions configure a Recorder; zero values take the defaults.
type RecorderOptions struct {
	// QueueSize bounds the records waiting to be sent (default 4096);
	// beyond it records are dropped and counted.
	QueueSize int
	// Timeout bounds each call to the sink (default 10s).
	Timeout time.Duration
	// Log receives drops and sink failures (default: discarded).
	Log *slog.Logger
}

// op is one queued record: a session start, an event or a session end.
type op struct {
	kind      opKind
	sessionID string
	agent     string
	input     json.RawMessage
	event     json.RawMessage
	at        time.Time // a start's time
	status    string
	errText   string
}

type opKind int

const (
	opStart opKind = iota
	opEvent
	opEnd
)

// Recorder sends records to a Sink from one goroutine, in the order they
// were queued, consecutive events in one call. Enqueueing never blocks: a
// full queue drops the record. A failed start is tried again before the
// session's next events, so a sink that comes back late still gets the
// session; records that fail are counted and logged, not retried.
type Recorder struct {
	sink    Sink
	timeout time.Duration
	log     *slog.Logger
	queue   chan op

	closeOnce sync.Once
	done      chan struct{}

	dropped atomic.Int64
	failed  atomic.Int64
	sent    atomic.Int64

	// failures counts the sink calls that failed, for logging the first
	// and then every 100th (an AgentScope that is down must not flood the
	// host's log with a line per batch).
	failures int
}

// logFailure logs a failed sink call when it is the first or a 100th.
func (r *Recorder) logFailure(msg string, args ...any) {
	r.failures++
	if r.failures == 1 || r.failures%100 == 0 {
		r.log.Warn(msg, append(args, "failures_so_far", r.failures)...)
	}
}

// NewRecorder starts a Recorder sending to sink; Close stops it.
func NewRecorder(sink Sink, opts RecorderOptions) *Recorder {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{sink: sink, timeout: opts.Timeout, log: opts.Log, queue: make(chan op, opts.QueueSize), done: make(chan struct{})}
	go r.drain()
	return r
}

// Stats are a Recorder's counts so far.
type Stats struct {
	// Sent counts records the sink accepted (starts, events, ends).
	Sent int64
	// Dropped counts records never sent: the queue was full, or Close's
	// deadline passed before they were.
	Dropped int64
	// Failed counts records the sink refused or could not be reached for.
	Failed int64
}

// Stats returns the counts so far.
func (r *Recorder) Stats() Stats {
	return Stats{Sent: r.sent.Load(), Dropped: r.dropped.Load(), Failed: r.failed.Load()}
}

func (r *Recorder) enqueue(o op) {
	select {
	case r.queue <- o:
	default:
		n := r.dropped.Add(1)
		if n == 1 || n%100 == 0 {
			r.log.Warn("recording queue full: record dropped", "dropped", n)
		}
	}
}

// Start queues the start of a session, begun at at.
func (r *Recorder) Start(sessionID, agent string, input json.RawMessage, at time.Time) {
	r.enqueue(op{kind: opStart, sessionID: sessionID, agent: agent, input: input, at: at})
}

// Event queues one event (a JSON object naming its session).
func (r *Recorder) Event(sessionID string, event json.RawMessage) {
	r.enqueue(op{kind: opEvent, sessionID: sessionID, event: event})
}

// End queues the end of a session.
func (r *Recorder) End(sessionID, status, errText string) {
	r.enqueue(op{kind: opEnd, sessionID: sessionID, status: status, errText: errText})
}

// Close stops taking records and waits until the queued ones are sent or
// ctx is done; what is left then is counted as dropped.
func (r *Recorder) Close(ctx context.Context) Stats {
	r.closeOnce.Do(func() { close(r.queue) })
	select {
	case <-r.done:
	case <-ctx.Done():
		left := int64(len(r.queue))
		r.dropped.Add(left)
		r.log.Warn("recording stopped before every record was sent", "dropped", left)
	}
	return r.Stats()
}

// drain sends queued records until the queue is closed and empty.
func (r *Recorder) drain() {
	defer close(r.done)
	// unstarted holds the starts the sink refused, by session, to try
	// again before the session's next events.
	unstarted := map[string]op{}
	var batch []json.RawMessage
	var batchSessions map[string]bool
	flush := func() {
		if len(batch) == 0 {
			return
		}
		for s := range batchSessions {
			if o, ok := unstarted[s]; ok && r.start(o) {
				delete(unstarted, s)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		err := r.sink.Record(ctx, batch)
		cancel()
		if err != nil {
			r.failed.Add(int64(len(batch)))
			r.logFailure("recording events failed", "events", len(batch), "err", err)
		} else {
			r.sent.Add(int64(len(batch)))
		}
		batch, batchSessions = nil, nil
	}
	for o := range r.queue {
		switch o.kind {
		case opStart:
			flush()
			if !r.start(o) {
				unstarted[o.sessionID] = o
			}
		case opEvent:
			batch = append(batch, o.event)
			if batchSessions == nil {
				batchSessions = map[string]bool{}
			}
			batchSessions[o.sessionID] = true
			if len(r.queue) == 0 || len(batch) >= 500 {
				flush()
			}
		case opEnd:
			flush()
			if s, ok := unstarted[o.sessionID]; ok {
				delete(unstarted, o.sessionID)
				if !r.start(s) {
					r.failed.Add(2) // the start and the end
					continue
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
			err := r.sink.EndSession(ctx, o.sessionID, o.status, o.errText)
			cancel()
			if err != nil {
				r.failed.Add(1)
				r.logFailure("ending the session failed", "session_id", o.sessionID, "err", err)
			} else {
				r.sent.Add(1)
			}
		}
	}
	flush()
	r.failed.Add(int64(len(unstarted)))
}

// start sends a session start and reports whether the sink took it.
func (r *Recorder) start(o op) bool {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	if err := r.sink.StartSession(ctx, o.sessionID, o.agent, o.input, o.at); err != nil {
		r.logFailure("starting the session failed", "session_id", o.sessionID, "err", err)
		return false
	}
	r.sent.Add(1)
	return true
}

// Source is the metadata "source" of the sessions the proxy records, as
// "otlp" and "gateway" are of the other capture paths': sessions can be
// told apart and filtered by how they were captured.
const Source = "mcp-proxy"

// SessionMetadata is the metadata a sink starts a proxy session with.
func SessionMetadata() map[string]string { return map[string]string{"source": Source} }
