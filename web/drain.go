package web

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The drain: when the process stops, http.Server.Shutdown closes the
// listener and waits for requests in flight (their commits finish), but it
// neither waits for nor ends hijacked connections (websockets) and it
// waits for event streams, which never go idle, until its deadline.
// CloseStreams ends those long-lived responses: websockets with a close
// frame saying the server is going away (1001), so clients reconnect to
// another node with the last seq or cursor they saw; event streams by
// ending their response.

// longLived reports the responses that last until the client leaves:
// websockets and GETs of an event stream (/mcp's SSE stream, the UI's).
// Posts that wait for an answer (an MCP tool call) are not: they finish
// as any request in flight does.
func longLived(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") ||
		(r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/event-stream"))
}

// streamSet counts the long-lived responses being served.
type streamSet struct {
	mu sync.Mutex
	n  int
	// none is closed when n falls to zero; a new one is made when it
	// rises from zero.
	none chan struct{}
}

func (ss *streamSet) add() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.n == 0 {
		ss.none = make(chan struct{})
	}
	ss.n++
}

func (ss *streamSet) done() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.n--
	if ss.n == 0 {
		close(ss.none)
	}
}

// idle returns a channel closed once no stream is served.
func (ss *streamSet) idle() <-chan struct{} {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return ss.none
}

// trackStream registers a long-lived request: its context also ends when
// the server drains. The returned function ends the registration.
func (s *Server) trackStream(r *http.Request) (*http.Request, func()) {
	s.streams.add()
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.draining, cancel)
	return r.WithContext(ctx), func() {
		stop()
		cancel()
		s.streams.done()
	}
}

// CloseStreams ends every long-lived response (websockets with close code
// 1001, going away; event streams) and waits until their handlers have
// returned or ctx ends. Call it when the process stops, beside
// http.Server.Shutdown (http.Server.RegisterOnShutdown); new streams
// after it end at once.
func (s *Server) CloseStreams(ctx context.Context) error {
	s.drain()
	select {
	case <-s.streams.idle():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// goingAway tells a websocket client the server is shutting down, when
// that is why its stream ended; the caller closes the connection.
func (s *Server) goingAway(conn *websocket.Conn) {
	if s.draining.Err() == nil {
		return
	}
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
	_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}
