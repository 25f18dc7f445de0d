package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/gateway"
)

// DefaultStreamKeepAlive is how often open-ended responses show they are
// alive when Options.StreamKeepAlive is unset: under the 60 s idle timeout
// common in reverse proxies (nginx's proxy_read_timeout).
const DefaultStreamKeepAlive = 30 * time.Second

// DefaultMaxInflightBytes bounds the request bodies the server holds at
// once: with 32 MiB bodies, two at a time.
const DefaultMaxInflightBytes = 64 << 20

// limitRequest reads r's body in full, within the server's ReadTimeout,
// under the in-flight byte budget, and lifts the write deadline of streams,
// so a handler may take as long as its work needs while a slow or stalled
// upload cannot hold the server. It
// answers the request itself and returns false when the body is refused:
// 413 past MaxBodyBytes, 503 with Retry-After when the budget is spent (both
// at once, before the body is read; see refuse), 408 when the client sends
// too slowly.
func (s *Server) limitRequest(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	release = func() {}
	rc := http.NewResponseController(w)
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		n := r.ContentLength
		if n > s.opts.MaxBodyBytes {
			s.refuse(w, r, agentscope.Errorf(agentscope.ETOOLARGE, "request body of %d bytes is larger than the limit of %d bytes (AGENTSCOPE_HTTP_MAX_BODY_BYTES)", n, s.opts.MaxBodyBytes), false)
			return release, false
		}
		if n < 0 { // chunked: hold the most it may be until it is read
			n = s.opts.MaxBodyBytes
		}
		if !s.inflight.TryAcquire(n) {
			busy := agentscope.Errorf(agentscope.EUNAVAILABLE,
				"the server is busy reading other requests (at most %d request bytes in flight, AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES); retry after 1 second", s.opts.MaxInflightBytes)
			busy.RetryAfter = time.Second
			s.refuse(w, r, busy, true)
			return release, false
		}
		held := n
		release = func() { s.inflight.Release(held) }
		body, err := readBody(w, r, s.opts.MaxBodyBytes)
		if err != nil {
			release()
			var maxErr *http.MaxBytesError
			var netErr net.Error
			switch {
			case errors.As(err, &maxErr):
				writeError(w, r, s.log, agentscope.Errorf(agentscope.ETOOLARGE, "request body is larger than the limit of %d bytes (AGENTSCOPE_HTTP_MAX_BODY_BYTES)", s.opts.MaxBodyBytes))
			case errors.As(err, &netErr) && netErr.Timeout():
				w.Header().Set("Connection", "close")
				var body errorBody
				body.Error.Code, body.Error.Message = "timeout", "the request body did not arrive within the read timeout (AGENTSCOPE_HTTP_READ_TIMEOUT)"
				writeJSON(w, http.StatusRequestTimeout, body)
			default:
				writeError(w, r, s.log, agentscope.Errorf(agentscope.EINVALID, "read request body: %v", err))
			}
			return func() {}, false
		}
		if extra := held - int64(len(body)); extra > 0 {
			s.inflight.Release(extra)
			held = int64(len(body))
		}
		r.Body = &readBodyOf{Reader: bytes.NewReader(body), b: body}
		r.ContentLength = int64(len(body))
	}
	// The body was read to its end, so net/http has lifted the read
	// deadline and watches the connection: the handler may take as long as
	// its work needs (an investigation with wait, a long search), and its
	// context ends when the client goes away. Streams are exempt from the
	// write deadline too; their read deadline is lifted here as well, so
	// they do not depend on when net/http lifts it. (A hijacked websocket
	// has no deadlines; keepAlive is its own.)
	if isStream(r) {
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
	}
	return release, true
}

// refuse answers r with err at once, before its body is read: the answer
// goes out whole (with its Content-Length) and flushed, with Connection:
// close, so a client that reads while it sends has its answer without
// sending the rest, and one that sends all before it reads finds the answer
// waiting, whatever happens to the connection after it.
//
// What net/http does next, once the handler returns (server.go, Go 1.26):
// the answer says Connection: close, so it does not discard the unread body
// to keep the connection (that is done only for a reused connection);
// finishRequest closes the body, which reads on to its end only when at
// most maxPostHandlerReadBytes (256 KiB) of it remain, and otherwise marks
// it closed early; a body closed early (or cut by http.MaxBytesReader)
// makes net/http closeWriteAndWait: flush, send FIN, sleep 500 ms
// (rstAvoidanceDelay) without reading, then close. Closing a socket with
// unread data sends RST, so a client still sending a larger body then has
// its write fail, and some TCP stacks drop the answer waiting in the
// client's receive buffer; Go's own http.Transport reports the write error
// unless it read the answer first.
//
// So with drain, refuse then reads the body through a small buffer, holding
// none of it, to its end and at most MaxBodyBytes, within the server's
// ReadTimeout (the connection's read deadline, set for the whole request):
// the client that sends its whole body before it reads (most do) finishes
// sending and reads the 503 and its Retry-After, as it would a 2xx; it
// reads no more than the server would have had it accepted the body. The
// 413 does not drain (its body may be of any size) and leaves the client
// net/http's lingering close.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error, drain bool) {
	status, answer := errorAnswer(w, r, s.log, err)
	body, _ := json.Marshal(answer) // strings and a code: it cannot fail
	body = append(body, '\n')       // as writeJSON's encoder ends it
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	if err := http.NewResponseController(w).Flush(); err != nil || !drain {
		return
	}
	// A client that sent Expect: 100-continue was not told to continue:
	// the answer tells it not to send the body at all.
	if strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	_, _ = io.CopyBuffer(io.Discard, io.LimitReader(r.Body, s.opts.MaxBodyBytes), make([]byte, 32<<10))
}

// readBody reads r's body whole, at most limit bytes, in one allocation
// when its length is known.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength > 0 {
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		// Read on to the end of the body: only then does net/http watch the
		// connection, so the request's context ends when the client goes.
		var one [1]byte
		if n, err := body.Read(one[:]); n > 0 || (err != nil && err != io.EOF) {
			return nil, fmt.Errorf("request body longer than its Content-Length")
		}
		return buf, nil
	}
	return io.ReadAll(body)
}

// readBodyOf is a request body limitRequest has read; handlers that need
// all of it take it with bodyBytes instead of copying it again.
type readBodyOf struct {
	*bytes.Reader
	b []byte
}

func (*readBodyOf) Close() error { return nil }

// bodyBytes returns r's whole body: the bytes limitRequest read, or read
// now.
func bodyBytes(r *http.Request) ([]byte, error) {
	if rb, ok := r.Body.(*readBodyOf); ok && rb.Len() == len(rb.b) {
		_, _ = rb.Seek(0, io.SeekEnd)
		return rb.b, nil
	}
	return io.ReadAll(r.Body)
}

// isStream reports requests whose response is open-ended: websockets, the
// MCP endpoint (SSE streams, tool calls that wait), event streams and
// calls that wait for a result, and the LLM gateway's calls (a model may
// answer for minutes). WriteTimeout does not apply to them.
func isStream(r *http.Request) bool {
	if r.URL.Path == "/mcp" || gateway.IsRoute(r.URL.Path) || strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return true
	}
	if v := r.URL.Query().Get("wait"); v != "" {
		b, err := strconv.ParseBool(v)
		return err != nil || b
	}
	return false
}

func newInflight(n int64) *semaphore.Weighted { return semaphore.NewWeighted(n) }

// eventStreamKeepAlive wraps the response to a request that accepts an
// event stream. Once the handler answers 200 with Content-Type
// text/event-stream (the MCP endpoint's GET stream, which may carry nothing
// for hours), it writes an SSE comment line (": keep-alive", which clients
// ignore) every period between events, so proxies do not close the stream
// as idle; a client that takes no bytes for a period is taken as gone and
// the request's context is cancelled. Other responses pass through as they
// are.
type eventStreamKeepAlive struct {
	http.ResponseWriter
	req    *http.Request
	rc     *http.ResponseController
	period time.Duration
	cancel context.CancelFunc

	mu       sync.Mutex
	status   int  // the final status written, 0 before
	boundary bool // what was written so far ends an event (or is empty)
	stopped  bool
	quit     chan struct{}
	done     chan struct{} // closed when the pinger ends; nil if none started
}

func newEventStreamKeepAlive(w http.ResponseWriter, r *http.Request, period time.Duration) *eventStreamKeepAlive {
	ctx, cancel := context.WithCancel(r.Context())
	return &eventStreamKeepAlive{ResponseWriter: w, req: r.WithContext(ctx), rc: http.NewResponseController(w),
		period: period, cancel: cancel, boundary: true, quit: make(chan struct{})}
}

func (k *eventStreamKeepAlive) WriteHeader(code int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.writeHeaderLocked(code)
}

func (k *eventStreamKeepAlive) writeHeaderLocked(code int) {
	if k.status == 0 && code >= 200 {
		k.status = code
		ct, _, _ := mime.ParseMediaType(k.Header().Get("Content-Type"))
		if code == http.StatusOK && ct == "text/event-stream" && !k.stopped {
			k.done = make(chan struct{})
			go k.ping()
		}
	}
	k.ResponseWriter.WriteHeader(code)
}

func (k *eventStreamKeepAlive) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.status == 0 {
		k.writeHeaderLocked(http.StatusOK)
	}
	n, err := k.ResponseWriter.Write(p)
	if n > 0 {
		k.boundary = bytes.HasSuffix(p[:n], []byte("\n\n"))
	}
	return n, err
}

// FlushError flushes under the same lock as the writes, so a comment never
// lands inside an event; http.ResponseController finds it before Unwrap.
func (k *eventStreamKeepAlive) FlushError() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rc.Flush()
}

// Unwrap gives http.ResponseController the response underneath.
func (k *eventStreamKeepAlive) Unwrap() http.ResponseWriter { return k.ResponseWriter }

// ping writes the comment every period while the stream is between
// events; a write that does not complete within a period ends the request.
func (k *eventStreamKeepAlive) ping() {
	defer close(k.done)
	t := time.NewTicker(k.period)
	defer t.Stop()
	for {
		select {
		case <-k.quit:
			return
		case <-k.req.Context().Done():
			return
		case <-t.C:
		}
		k.mu.Lock()
		var err error
		if !k.stopped && k.boundary {
			_ = k.rc.SetWriteDeadline(time.Now().Add(k.period))
			if _, err = io.WriteString(k.ResponseWriter, ": keep-alive\n\n"); err == nil {
				err = k.rc.Flush()
			}
			_ = k.rc.SetWriteDeadline(time.Time{})
		}
		k.mu.Unlock()
		if err != nil {
			k.cancel()
			return
		}
	}
}

// stop ends the pinger before the handler returns: nothing may write to
// the response after that.
func (k *eventStreamKeepAlive) stop() {
	k.mu.Lock()
	k.stopped = true
	k.mu.Unlock()
	close(k.quit)
	if k.done != nil {
		<-k.done
	}
	k.cancel()
}
