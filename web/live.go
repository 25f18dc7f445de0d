package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope"
)

// liveBatch bounds one store read of a live backlog.
const liveBatch = 500

// handleLive streams a session's events over a websocket: first every event
// after from_seq, read from the store, then each event as it commits. The hub
// only wakes the stream; events always come from the store or are checked
// against the last seq sent, so a reconnect with the last seq seen misses
// nothing and receives nothing twice.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	sessionID := r.PathValue("session_id")
	org, _ := agentscope.OrgFrom(r.Context())
	if err := agentscope.ValidateSessionID(sessionID); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var from int64
	if v := r.URL.Query().Get("from_seq"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, r, s.log, agentscope.FieldErrorf("from_seq", "must be a non-negative integer"))
			return
		}
		from = n
	}
	if _, err := s.svc.GetRun(r.Context(), sessionID); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	up := websocket.Upgrader{CheckOrigin: sameOrigin}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client.
	}
	defer conn.Close()
	defer s.opts.Metrics.WebsocketOpened()()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	keepAlive(ctx, cancel, conn, s.opts.StreamKeepAlive)
	sub := s.opts.Hub.Subscribe(org, sessionID)
	defer sub.Close()
	if err := s.streamSession(ctx, conn, sessionID, from, sub.Ready, sub.Take); err != nil && ctx.Err() == nil {
		s.log.Debug("live stream ended", "session_id", sessionID, "err", err)
	}
	s.goingAway(conn)
}

// keepAlive reads conn only to notice the client going away and pings it
// every period (Options.StreamKeepAlive), so a peer that vanished without
// closing is found: one that answers nothing, not even a pong, for two
// periods is gone. It cancels ctx (through cancel) when the client is gone.
// Live streams are exempt from the server's read and write timeouts (a
// hijacked connection has no deadlines), so this is their own.
func keepAlive(ctx context.Context, cancel context.CancelFunc, conn *websocket.Conn, period time.Duration) {
	wait := 2*period + 5*time.Second
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wait)) })
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)); err != nil {
					cancel()
					return
				}
			}
		}
	}()
}

// streamSession sends events after last until ctx ends. wake signals that
// take has events; take returns them and whether some were dropped.
func (s *Server) streamSession(ctx context.Context, conn *websocket.Conn, sessionID string, last int64, wake <-chan struct{}, take func() ([]agentscope.Event, bool)) error {
	poll := time.NewTicker(s.opts.LivePoll)
	defer poll.Stop()
	catchUp := true
	for {
		if catchUp {
			for {
				evs, err := s.svc.ListEvents(ctx, sessionID, agentscope.EventFilter{AfterSeq: last, Limit: liveBatch})
				if err != nil {
					return err
				}
				for _, ev := range evs {
					if err := send(conn, ev); err != nil {
						return err
					}
					last = ev.Seq
				}
				if len(evs) < liveBatch {
					break
				}
			}
			catchUp = false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
			catchUp = true
		case <-wake:
			evs, lagged := take()
			if lagged {
				catchUp = true
				continue
			}
			for _, ev := range evs {
				if ev.Seq <= last {
					continue
				}
				if ev.Seq != last+1 { // a gap: the store has the truth
					catchUp = true
					break
				}
				if err := send(conn, ev); err != nil {
					return err
				}
				last = ev.Seq
			}
		}
	}
}

func send(conn *websocket.Conn, ev agentscope.Event) error {
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return conn.WriteJSON(ev)
}

// sameOrigin allows websocket upgrades from non-browser clients (no Origin)
// and from pages served by this host; any other Origin is refused.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return u.Host == r.Host
}
