package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope"
)

// feedMessage is what the organisation feed sends: a batch of run-state
// events ("events"), or "ready" once the backlog is sent. Cursor resumes
// the feed just after the message (GET /ui/live/org?cursor=…).
type feedMessage struct {
	Type   string             `json:"type"`
	Events []agentscope.Event `json:"events,omitempty"`
	Cursor string             `json:"cursor"`
}

// handleOrgLive streams the organisation's run-state events over a
// websocket, from the cursor given (or from now), then as they commit. It
// follows the session feed's rule: the hub wakes the stream, the store
// answers, and a reconnect with the last cursor misses nothing and
// receives nothing twice.
func (s *Server) handleOrgLive(w http.ResponseWriter, r *http.Request) {
	org, _ := agentscope.OrgFrom(r.Context())
	var cur *feedCursor
	if c := r.URL.Query().Get("cursor"); c != "" {
		var err error
		if cur, err = decodeFeedCursor(c); err != nil {
			writeError(w, r, s.log, err)
			return
		}
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
	// Subscribe before the first read, so nothing commits unseen between.
	sub := s.opts.Hub.Subscribe(org, "")
	defer sub.Close()
	if cur == nil {
		if cur, err = startFeedCursor(ctx, s.svc, time.Now()); err != nil {
			s.log.Warn("organisation feed", "err", err)
			return
		}
	}
	feed := &orgFeed{events: s.svc, cur: cur, now: time.Now}
	if err := s.streamOrg(ctx, conn, feed, sub.Ready, sub.Take); err != nil && ctx.Err() == nil {
		s.log.Debug("organisation feed ended", "err", err)
	}
	s.goingAway(conn)
}

func (s *Server) streamOrg(ctx context.Context, conn *websocket.Conn, feed *orgFeed, wake <-chan struct{}, take func() ([]agentscope.Event, bool)) error {
	emit := func(evs []agentscope.Event) error {
		return sendMessage(conn, feedMessage{Type: "events", Events: evs, Cursor: feed.cur.encode()})
	}
	if err := feed.read(ctx, emit); err != nil {
		return err
	}
	if err := sendMessage(conn, feedMessage{Type: "ready", Cursor: feed.cur.encode()}); err != nil {
		return err
	}
	poll := time.NewTicker(s.opts.LivePoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
		case <-wake:
			evs, lagged := take()
			if !lagged && !anyFeedEvent(evs) {
				continue // only model and tool events: no run changed
			}
		}
		if err := feed.read(ctx, emit); err != nil {
			return err
		}
	}
}

func anyFeedEvent(evs []agentscope.Event) bool {
	for _, ev := range evs {
		if isFeedType(ev.Type) {
			return true
		}
	}
	return false
}

func sendMessage(conn *websocket.Conn, v any) error {
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return conn.WriteJSON(v)
}
