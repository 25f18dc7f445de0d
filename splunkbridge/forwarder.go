package splunkbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Forwarder delivers the store's outbox to Splunk's HTTP Event Collector,
// at least once. A claimer leases batches of due entries and hands them to
// Concurrency senders; each batch is sent, and its entries completed,
// dead-lettered or released for retry according to HEC's reply. Several
// forwarders, in one process or many, may share a store: leases keep their
// batches apart.
type Forwarder struct {
	outbox  Outbox
	cfg     HECConfig
	opts    options
	log     *slog.Logger
	hec     *hecClient
	enc     *envelopeEncoder
	state   *state
	acks    *ackTracker // nil unless cfg.Ack
	baseURL string

	// slots bounds the batches claimed and not yet settled.
	slots chan struct{}
	work  chan *batch
	wake  chan struct{}

	mu         sync.Mutex
	started    bool
	stopOnce   sync.Once
	stopClaims context.CancelFunc // stops claiming and waiting
	stopSends  context.CancelFunc // cancels requests in flight
	done       chan struct{}
}

// NewForwarder returns a forwarder of outbox to the HEC cfg describes. It
// checks cfg now, so a bad URL, token or index fails at startup rather
// than at the first send.
func NewForwarder(outbox Outbox, cfg HECConfig, opts ...Option) (*Forwarder, error) {
	if outbox == nil {
		return nil, errors.New("new HEC forwarder: outbox is nil")
	}
	base, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("new HEC forwarder: %w", err)
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if o.owner == "" {
		return nil, errors.New("new HEC forwarder: owner must not be empty")
	}
	if o.lease <= 0 {
		o.lease = 3 * time.Minute
		if cfg.Ack {
			o.lease += cfg.AckTimeout
		}
	}
	if o.httpClient == nil {
		t, err := newTransport(cfg.CAFile, cfg.InsecureSkipVerify, cfg.Concurrency)
		if err != nil {
			return nil, fmt.Errorf("new HEC forwarder: %w", err)
		}
		o.httpClient = &http.Client{Transport: t, Timeout: cfg.Timeout}
	}
	channel := ""
	if cfg.Ack {
		channel = uuid.NewString()
	}
	f := &Forwarder{
		outbox:  outbox,
		cfg:     cfg,
		opts:    o,
		log:     o.logger.With("component", "hec-forwarder", "owner", o.owner),
		hec:     newHECClient(base, cfg.Token, channel, o.httpClient, o.clock),
		enc:     newEnvelopeEncoder(cfg.Host, cfg.Index),
		state:   newState(),
		baseURL: base,
		slots:   make(chan struct{}, 2*cfg.Concurrency),
		work:    make(chan *batch),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	f.state.endpoint.URL = base
	if cfg.Ack {
		f.acks = newAckTracker(f)
	}
	return f, nil
}

// Start begins forwarding in the background and returns. Forwarding stops
// when ctx ends or Stop is called. Start fails if called twice.
func (f *Forwarder) Start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started {
		return errors.New("HEC forwarder already started")
	}
	f.started = true
	claimCtx, stopClaims := context.WithCancel(ctx)
	// Requests outlive the claim context by the stop grace, so a batch in
	// flight at shutdown gets its answer rather than a duplicate later.
	sendCtx, stopSends := context.WithCancel(context.WithoutCancel(ctx))
	f.stopClaims, f.stopSends = stopClaims, stopSends

	// The acknowledgement tracker outlives the senders, which may still
	// hand it batches while they finish.
	sendersDone := make(chan struct{})
	var senders, others sync.WaitGroup
	run := func(wg *sync.WaitGroup, fn func()) {
		wg.Add(1)
		go func() { defer wg.Done(); fn() }()
	}
	run(&senders, func() { f.claimLoop(claimCtx) })
	for range f.cfg.Concurrency {
		run(&senders, func() { f.sendLoop(claimCtx, sendCtx) })
	}
	go func() { senders.Wait(); close(sendersDone) }()
	run(&others, func() { f.healthLoop(claimCtx) })
	if f.acks != nil {
		run(&others, func() { f.acks.run(claimCtx, sendCtx, sendersDone) })
	}
	go func() {
		<-claimCtx.Done()
		// Give requests in flight the grace period, then cancel them.
		grace := time.NewTimer(f.opts.stopGrace)
		defer grace.Stop()
		finished := make(chan struct{})
		go func() { senders.Wait(); others.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-grace.C:
			stopSends()
			<-finished
		}
		stopSends()
		close(f.done)
	}()
	f.log.Info("forwarding to HEC", "url", f.baseURL, "index", f.cfg.Index, "ack", f.cfg.Ack,
		"batch_events", f.cfg.BatchEvents, "concurrency", f.cfg.Concurrency)
	return nil
}

// Stop stops claiming, lets requests in flight finish (within the stop
// grace), releases what it holds back to the outbox and returns when every
// goroutine has ended. It is safe to call more than once, or without
// Start.
func (f *Forwarder) Stop() {
	f.mu.Lock()
	started := f.started
	f.mu.Unlock()
	if !started {
		return
	}
	f.stopOnce.Do(func() { f.stopClaims() })
	<-f.done
}

// Notify hints that new entries were committed, so an idle forwarder looks
// now rather than at its next poll. It never blocks.
func (f *Forwarder) Notify() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Owner returns the name under which this forwarder leases entries.
func (f *Forwarder) Owner() string { return f.opts.owner }

// Progress returns what the forwarder has done since it started.
func (f *Forwarder) Progress() Progress { return f.state.progress() }

// WaitProgress blocks until cond holds for the forwarder's progress or ctx
// ends, for a drain command or a test that must not poll.
func (f *Forwarder) WaitProgress(ctx context.Context, cond func(Progress) bool) error {
	return f.state.waitFor(ctx, cond)
}

// sleep waits d on the forwarder's clock; it returns false if ctx ended.
func (f *Forwarder) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-f.opts.clock.After(d):
		return true
	}
}

// bookkeeping returns a context for store writes that must happen even as
// the forwarder stops: what Splunk accepted must leave the outbox.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}
