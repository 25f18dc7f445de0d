package pghub

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// connectTimeout bounds connecting and LISTENing.
	connectTimeout = 10 * time.Second
	// healthInterval is how long the listener waits in silence before it
	// pings its connection, so a connection that died without a word (a
	// network partition) is noticed and replaced.
	healthInterval = 30 * time.Second
	// stableAfter is how long a connection must have lived for its loss to
	// be retried at once rather than after a backoff.
	stableAfter = 10 * time.Second
	minBackoff  = 250 * time.Millisecond
	maxBackoff  = 15 * time.Second
)

// listen opens a dedicated connection (outside the pool, whose connections
// must not carry a LISTEN back into circulation) and LISTENs on the channel.
func (h *Hub) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, h.pool.Config().ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("pghub: connect listener: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{h.opts.Channel}.Sanitize()); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("pghub: listen on %s: %w", h.opts.Channel, err)
	}
	h.listenerPID.Store(conn.PgConn().PID())
	h.sayHello(helloReply) // listening now: the others' answers are heard
	return conn, nil
}

// listenLoop hears notifications on conn until ctx ends, replacing the
// connection when it is lost. After a replacement every subscriber is
// poked: notifications sent while it was down were lost.
func (h *Hub) listenLoop(ctx context.Context, conn *pgx.Conn) {
	failures := 0
	for {
		connected := time.Now()
		err := h.receive(ctx, conn)
		h.listenerPID.Store(0)
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if time.Since(connected) >= stableAfter {
			failures = 0
		}
		h.log.Warn("listener connection lost; reconnecting", "err", err)
		for {
			if !sleep(ctx, backoff(failures)) {
				return
			}
			failures++
			if conn, err = h.listen(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("listener reconnect failed", "attempt", failures, "err", err)
		}
		h.log.Info("listener reconnected")
		h.mem.PokeAll()
	}
}

// receive handles notifications until the connection fails or ctx ends.
func (h *Hub) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, healthInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			h.handle(n.Payload)
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil || wctx.Err() == nil {
			return err
		}
		// A quiet spell: the connection survives the timeout; prove it is
		// still there.
		pctx, cancel := context.WithTimeout(ctx, connectTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("health check: %w", err)
		}
	}
}

// handle pokes the local subscriptions another process's notification
// concerns.
func (h *Hub) handle(s string) {
	p, err := decodePayload(s)
	if err != nil {
		h.log.Warn("malformed notification; poking every subscriber", "err", err)
		h.mem.PokeAll()
		return
	}
	switch {
	case p.Node == h.opts.NodeID:
		return // this process's subscribers had the events themselves
	case p.Hello:
		h.heard(p.Node)
		if p.Reply {
			h.sayHello(helloPlain)
		}
		return
	case p.All:
		h.mem.PokeAll()
		return
	}
	var orgs []string
	sessions := map[string][]string{}
	for _, n := range p.Sessions {
		if _, ok := sessions[n.Org]; !ok {
			orgs = append(orgs, n.Org)
		}
		sessions[n.Org] = append(sessions[n.Org], n.Session)
	}
	for _, org := range orgs {
		h.mem.Poke(org, sessions[org]...)
	}
}

// backoff is the wait before reconnect attempt failures+1: none for the
// first, then doubling from minBackoff to maxBackoff, with jitter.
func backoff(failures int) time.Duration {
	if failures == 0 {
		return 0
	}
	d := min(minBackoff<<min(failures-1, 10), maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or less if ctx ends first, and reports whether ctx is still
// live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
