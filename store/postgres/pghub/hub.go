// Package pghub is the live hub for AgentScope processes that share one
// PostgreSQL database: serve, worker, or several of each.
//
// A Hub delivers the events its own process commits exactly as
// recorder.MemHub does, and tells the other processes about them with
// pg_notify on one channel: which sessions committed up to which seq, never
// the events. Each process LISTENs on a dedicated connection and, on
// another process's notification, marks the matching local subscriptions
// lagged, so their next Take makes them re-read the store at once instead
// of at their next poll. NOTIFY is a latency hint and nothing more: a
// notification lost (a dropped connection, an overwhelmed sender, a failed
// pg_notify) costs latency, never events, because subscribers still poll
// the store. After anything that may have lost notifications the hub pokes
// every subscriber.
//
// A listening hub announces itself on the channel (a hello) when it starts
// listening and every HelloInterval, and sends its notifications only while
// another listening hub has been heard from within three intervals: a
// process alone on the database (or beside publish-only workers) pays no
// NOTIFY, which under a busy group commit cost Postgres 10-20% of its
// CPU per record_event. When a peer appears after notifications were
// skipped, the next notification pokes every subscriber, as after an
// overflow. A publish-only hub cannot hear hellos and always sends.
//
// cmd/agentscope/app.go's OpenApp wires it for Postgres stores. The hub is
// closed after the recorder and the runtime, which publish to it, and
// before the store, whose pool it uses.
package pghub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
)

// Channel is the default NOTIFY channel. Deployments that share a database
// but not their tables (one schema each) need one channel each.
const Channel = "agentscope_events"

// channelPattern keeps channel names plain identifiers, the same whether
// quoted in LISTEN or passed to pg_notify.
var channelPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Options configure a Hub. The zero value is usable.
type Options struct {
	// Channel is the NOTIFY channel (default Channel).
	Channel string
	// NodeID names this process in its notifications so that it can ignore
	// its own (default: random).
	NodeID string
	// QueueSize bounds the Publish calls waiting for their notification
	// (default 1024). When it is full the next notification pokes every
	// subscriber of every process instead.
	QueueSize int
	// PublishOnly sends notifications but does not listen: for a process
	// whose own subscribers, if any, need no wake-ups from others (a
	// worker), so it holds no LISTEN connection.
	PublishOnly bool
	// Interval is the least time between two notifications this process
	// sends (default 5ms; negative: none). Publish calls within it are
	// coalesced into the next one: each NOTIFY is a transaction of its own
	// on the database, which under a busy group commit cost more than the
	// few milliseconds it adds to other processes' live views. This
	// process's own subscribers are woken at once either way.
	Interval time.Duration
	// HelloInterval is how often a listening hub announces itself to the
	// others (default 20s); a peer not heard from for three intervals is
	// taken to be gone.
	HelloInterval time.Duration
	Logger        *slog.Logger
}

// Hub is a recorder.Hub that also tells, and hears from, the other processes
// sharing the database.
type Hub struct {
	mem  *recorder.MemHub
	pool *pgxpool.Pool
	opts Options
	log  *slog.Logger

	queue    chan queued
	wake     chan struct{} // set when overflow is, so the sender sees it
	overflow atomic.Bool   // notifications were dropped: poke everyone
	closed   atomic.Bool

	mu           sync.Mutex // guards started and Close against Start
	started      bool
	stop         chan struct{}
	cancelListen context.CancelFunc
	wg           sync.WaitGroup

	listenerPID atomic.Uint32 // backend of the LISTEN connection, 0 when down
	sent        atomic.Int64  // notifications sent (hellos not counted)

	// hello is a hello the sender owes: helloPlain, or helloReply, which
	// asks the others to answer with theirs.
	hello atomic.Int32
	// skipped: notifications were not sent for want of a peer, so the next
	// one after a peer appears pokes everyone.
	skipped atomic.Bool
	peersMu sync.Mutex
	peers   map[string]time.Time // listening peers, by node, when last heard
	newPeer chan struct{}        // signalled when a peer is first heard
	now     func() time.Time
}

const (
	helloPlain = 1
	helloReply = 2
)

// queued is one Publish call's notes, or a marker whose flushed channel is
// closed once everything queued before it is sent.
type queued struct {
	notes   []sessionNote
	flushed chan struct{}
}

var _ recorder.Hub = (*Hub)(nil)

// New returns a hub on pool. It neither sends nor listens until Start.
func New(pool *pgxpool.Pool, opts Options) (*Hub, error) {
	if pool == nil {
		return nil, errors.New("pghub: no pool")
	}
	if opts.Channel == "" {
		opts.Channel = Channel
	}
	if !channelPattern.MatchString(opts.Channel) {
		return nil, fmt.Errorf("pghub: channel %q must match %s", opts.Channel, channelPattern)
	}
	if opts.NodeID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		opts.NodeID = hex.EncodeToString(b)
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1024
	}
	if opts.Interval == 0 {
		opts.Interval = 5 * time.Millisecond
	}
	if opts.HelloInterval <= 0 {
		opts.HelloInterval = 20 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		mem:     recorder.NewMemHub(),
		pool:    pool,
		opts:    opts,
		log:     opts.Logger.With("component", "pghub", "channel", opts.Channel, "node", opts.NodeID),
		queue:   make(chan queued, opts.QueueSize),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		peers:   map[string]time.Time{},
		newPeer: make(chan struct{}, 1),
		now:     time.Now,
	}, nil
}

// sayHello has the sender announce this hub (kind helloPlain or
// helloReply) at once.
func (h *Hub) sayHello(kind int32) {
	h.oweHello(kind)
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// oweHello has the sender announce this hub with its next notification.
func (h *Hub) oweHello(kind int32) {
	for {
		old := h.hello.Load()
		if old >= kind || h.hello.CompareAndSwap(old, kind) {
			return
		}
	}
}

// heard records a hello from another listening hub. A peer heard for the
// first time after notifications were skipped makes the next one poke
// everyone.
func (h *Hub) heard(node string) {
	h.peersMu.Lock()
	_, known := h.peers[node]
	h.peers[node] = h.now()
	h.peersMu.Unlock()
	if known {
		return
	}
	h.log.Info("peer listening", "peer", node)
	if h.skipped.Swap(false) {
		h.overflow.Store(true)
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	select {
	case h.newPeer <- struct{}{}:
	default:
	}
}

// alone reports whether no other listening hub has been heard from within
// three hello intervals, forgetting those that have not. A publish-only hub
// cannot tell, and is never alone.
func (h *Hub) alone() bool {
	if h.opts.PublishOnly {
		return false
	}
	h.peersMu.Lock()
	defer h.peersMu.Unlock()
	gone := h.now().Add(-3 * h.opts.HelloInterval)
	for node, at := range h.peers {
		if at.Before(gone) {
			delete(h.peers, node)
			h.log.Info("peer gone quiet", "peer", node)
		}
	}
	return len(h.peers) == 0
}

// Start connects the listener, within ctx, and starts the sender; both run
// until Close. Start fails if the first LISTEN does; later losses of the
// connection are retried with backoff.
func (h *Hub) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started || h.closed.Load() {
		return errors.New("pghub: Start after Start or Close")
	}
	bg := context.WithoutCancel(ctx)
	if !h.opts.PublishOnly {
		conn, err := h.listen(ctx)
		if err != nil {
			return err
		}
		lctx, cancel := context.WithCancel(bg)
		h.cancelListen = cancel
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.listenLoop(lctx, conn)
		}()
	}
	h.started = true
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.sendLoop(bg)
	}()
	return nil
}

// Close stops listening, sends the notifications still queued (for a short
// while), and returns when both are done. Local delivery keeps working.
func (h *Hub) Close() error {
	h.mu.Lock()
	if !h.closed.Swap(true) {
		close(h.stop)
		if h.cancelListen != nil {
			h.cancelListen()
		}
	}
	h.mu.Unlock()
	h.wg.Wait()
	return nil
}

// Subscribe implements recorder.Hub.
func (h *Hub) Subscribe(orgID, sessionID string) *recorder.Subscription {
	return h.mem.Subscribe(orgID, sessionID)
}

// Subscribers returns how many of this process's subscriptions are open.
func (h *Hub) Subscribers() int { return h.mem.Subscribers() }

// Publish implements recorder.Hub: it delivers events to this process's
// subscribers and queues a notification for the others' without waiting
// for it, so the recorder's commit path never blocks on NOTIFY.
func (h *Hub) Publish(orgID string, events []agentscope.Event) {
	if len(events) == 0 {
		return
	}
	h.mem.Publish(orgID, events)
	if h.closed.Load() {
		return
	}
	select {
	case h.queue <- queued{notes: sessionNotes(orgID, events)}:
	default:
		h.overflow.Store(true)
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}
