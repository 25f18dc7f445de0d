// Package recorder is the write path of the canonical event log: it
// validates events against their type's schema, coalesces concurrent callers
// into one transaction (group commit), returns to each caller only after its
// events are durable, and then publishes them to live subscribers.
package recorder

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
)

// Options configure a Recorder. The zero value is usable.
type Options struct {
	// MaxBatchEvents bounds the events of one group commit (default 2000).
	MaxBatchEvents int
	// Committers is the number of transactions that may be in flight at
	// once (default 1; SQLite has one writer, Postgres gains from several).
	Committers int
	// ParallelEvents is the least number of events a group commit must
	// hold to start while another is in flight (default MaxBatchEvents/8).
	// Below it the requests wait for the commit in flight to finish and
	// join the next one: many small requests (record_event from many
	// clients) then share a few big transactions, where two half-size ones
	// in flight at once cost the database about half as much again per
	// event without answering sooner; big requests (batch ingest) still
	// overlap one commit's encoding with another's round trips.
	ParallelEvents int
	// Hub receives committed events, a request's events at a time; nil
	// means no live fan-out.
	Hub Hub
	// Observers are called after each commit with the committed events, a
	// request's events at a time, in the committing goroutine (live
	// detectors); they must be fast.
	Observers []func(orgID string, events []agentscope.Event)
	Logger    *slog.Logger
	// Metrics counts commits and events ingested and refused; nil counts
	// nothing.
	Metrics *metrics.Metrics
}

// Recorder commits events through a Store with group commit.
type Recorder struct {
	store  agentscope.Store
	opts   Options
	log    *slog.Logger
	queue  chan *pending
	wg     sync.WaitGroup
	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
}

type pending struct {
	req  agentscope.AppendRequest
	done chan agentscope.AppendResult
}

// ErrClosed is returned by Commit after Close.
var ErrClosed = agentscope.Errorf(agentscope.EUNAVAILABLE, "recorder is shutting down")

// New returns a started Recorder writing to store.
func New(store agentscope.Store, opts Options) *Recorder {
	if opts.MaxBatchEvents <= 0 {
		opts.MaxBatchEvents = 2000
	}
	if opts.Committers <= 0 {
		opts.Committers = 1
	}
	if opts.ParallelEvents <= 0 {
		opts.ParallelEvents = max(opts.MaxBatchEvents/8, 1)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{
		store: store,
		opts:  opts,
		log:   opts.Logger.With("component", "recorder"),
		queue: make(chan *pending, 4096),
	}
	r.wg.Add(1)
	go r.commitLoop()
	return r
}

// Store returns the recorder's store.
func (r *Recorder) Store() agentscope.Store { return r.store }

// Hub returns the recorder's hub (nil if none).
func (r *Recorder) Hub() Hub { return r.opts.Hub }

// Commit validates req's events, commits them with whatever other requests
// are pending, and returns once they are durable. If ctx ends first, the
// request may still commit; retrying with the same event_ids is safe.
func (r *Recorder) Commit(ctx context.Context, req agentscope.AppendRequest) (agentscope.AppendResult, error) {
	for i := range req.Events {
		if err := agentscope.ValidateEvent(&req.Events[i]); err != nil {
			r.opts.Metrics.Rejected(agentscope.ErrorCode(err), len(req.Events))
			return agentscope.AppendResult{}, indexed(i, len(req.Events), err)
		}
	}
	return r.CommitValidated(ctx, req)
}

// CommitValidated is Commit for events its caller has validated: each
// passed agentscope.ValidateEvent (or was accepted by DecodeEvent) after
// its last change, and the caller has counted any it refused. The record
// path, which validates each event as it decodes it so that a bad one is
// refused alone, uses it not to validate every ingested event twice.
func (r *Recorder) CommitValidated(ctx context.Context, req agentscope.AppendRequest) (agentscope.AppendResult, error) {
	p := &pending{req: req, done: make(chan agentscope.AppendResult, 1)}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return agentscope.AppendResult{}, ErrClosed
	}
	select {
	case r.queue <- p:
		r.mu.RUnlock()
	case <-ctx.Done():
		r.mu.RUnlock()
		return agentscope.AppendResult{}, ctx.Err()
	}
	select {
	case res := <-p.done:
		return res, res.Err
	case <-ctx.Done():
		return agentscope.AppendResult{}, ctx.Err()
	}
}

// Refused counts an event refused before it reached Commit (a transport's
// or the service's own check), with its error code, in the same metric as
// the events Commit refuses.
func (r *Recorder) Refused(code string) { r.opts.Metrics.Rejected(code, 1) }

// indexed prefixes a validation error with the event's index in a batch.
func indexed(i, n int, err error) error {
	var e *agentscope.Error
	if n == 1 || !errors.As(err, &e) {
		return err
	}
	c := *e
	if c.Field != "" {
		c.Field = "events[" + strconv.Itoa(i) + "]." + c.Field
	} else {
		c.Message = "events[" + strconv.Itoa(i) + "]: " + c.Message
	}
	return &c
}

// Close stops accepting commits, finishes every commit already queued, and
// returns when they are done.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

// commitLoop gathers queued requests into group commits and starts each
// in its own goroutine: at once when none is in flight, and while others
// are (up to Committers) only once it holds ParallelEvents events. A
// commit is never started with fewer requests than are queued at that
// moment, up to MaxBatchEvents.
func (r *Recorder) commitLoop() {
	defer r.wg.Done()
	var (
		done     = make(chan struct{}, r.opts.Committers)
		inflight int
		batch    []*pending
		n        int // events in batch
		queue    = r.queue
	)
	take := func(p *pending) {
		batch = append(batch, p)
		n += len(p.req.Events)
	}
	for queue != nil || len(batch) > 0 || inflight > 0 {
		if len(batch) > 0 && inflight < r.opts.Committers {
			// Whatever is queued now joins before the commit starts.
		fill:
			for queue != nil && n < r.opts.MaxBatchEvents {
				select {
				case p, ok := <-queue:
					if !ok {
						queue = nil
						break fill
					}
					take(p)
				default:
					break fill
				}
			}
			if inflight == 0 || n >= r.opts.ParallelEvents || queue == nil {
				b := batch
				batch, n = nil, 0
				inflight++
				go func() {
					r.commit(b)
					done <- struct{}{}
				}()
				continue
			}
		}
		in := queue
		if n >= r.opts.MaxBatchEvents {
			in = nil // full: wait for a commit to finish
		}
		select {
		case p, ok := <-in:
			if !ok {
				queue = nil
				continue
			}
			take(p)
		case <-done:
			inflight--
		}
	}
}

func (r *Recorder) commit(batch []*pending) {
	reqs := make([]agentscope.AppendRequest, len(batch))
	for i, p := range batch {
		reqs[i] = p.req
	}
	// The commit must finish even if a caller gave up: others share it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	results := r.store.Append(ctx, reqs)
	took := time.Since(start)
	r.log.Debug("group commit", "requests", len(batch), "elapsed", took)
	if r.opts.Metrics != nil {
		r.count(reqs, results, took)
	}
	// Each request's appended events, as the store returned them, in the
	// batch's order: the hub and the observers take them a request at a
	// time. (Gathered into one slice per organisation, each event was
	// copied once more, about a twelfth of batch ingest's allocation.)
	type part struct {
		org string
		evs []agentscope.Event
	}
	var parts []part
	for i, res := range results {
		if res.Err != nil {
			continue
		}
		if evs := res.Appended(); len(evs) > 0 {
			parts = append(parts, part{reqs[i].OrgID, evs})
		}
	}
	// Published before the callers hear of their commit: a caller that
	// subscribes once Commit has returned is never told of the events it
	// committed itself (an MCP client that records, then subscribes,
	// would take that for someone else's commit).
	if r.opts.Hub != nil {
		for _, p := range parts {
			r.opts.Hub.Publish(p.org, p.evs)
		}
	}
	for i, p := range batch {
		if err := results[i].Err; err != nil && agentscope.ErrorCode(err) == agentscope.EINTERNAL {
			r.log.Error("commit failed", "session_id", reqs[i].SessionID, "err", err)
		}
		p.done <- results[i]
	}
	for _, p := range parts {
		for _, obs := range r.opts.Observers {
			obs(p.org, p.evs)
		}
	}
}

// count tells the metrics what one group commit appended, found already
// stored and refused.
func (r *Recorder) count(reqs []agentscope.AppendRequest, results []agentscope.AppendResult, took time.Duration) {
	events, appended, duplicates := 0, 0, 0
	for i, res := range results {
		events += len(reqs[i].Events)
		if code := agentscope.ErrorCode(res.Err); code == agentscope.ENOTFOUND {
			// A session not started yet: the capture paths (OTLP, the
			// gateway) try the append first and start the session on
			// this answer, so it is no refusal here; the service counts
			// it where it is final (Refused).
			continue
		} else if res.Err != nil {
			r.opts.Metrics.Rejected(code, len(reqs[i].Events))
			continue
		}
		for j := range res.Events {
			switch {
			case res.Rejected != nil && res.Rejected[j] != nil:
				r.opts.Metrics.Rejected(agentscope.ErrorCode(res.Rejected[j]), 1)
			case res.Duplicate[j]:
				duplicates++
			default:
				appended++
			}
		}
	}
	r.opts.Metrics.Committed(took, events, appended, duplicates)
}
