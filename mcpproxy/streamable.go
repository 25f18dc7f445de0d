package mcpproxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// StreamableConn is an MCP server reached over the Streamable HTTP
// transport (MCP 2025-03-26 and later): each frame from the host is POSTed
// with Accept: application/json, text/event-stream; answers come back as a
// JSON body or on the request's event stream; the Mcp-Session-Id the
// server assigns at initialize, and the negotiated MCP-Protocol-Version,
// go on every later request; once the host has sent
// notifications/initialized, a GET event stream carries the server's own
// requests and notifications; Close ends the session with DELETE.
//
// The go-sdk's StreamableClientTransport is not used: it decodes and
// re-encodes every message, and it opens the GET stream only for its own
// Client (an unexported hook), so a relay of raw frames could not have it.
type StreamableConn struct {
	endpoint string
	header   http.Header
	client   *http.Client
	log      *slog.Logger

	ctx    context.Context // the connection's: cancelled by Close
	cancel context.CancelFunc

	incoming chan []byte
	closed   chan struct{}

	mu        sync.Mutex
	sessionID string
	version   string // MCP-Protocol-Version, from the initialize answer
	initID    string // the pending initialize request's id
	listening bool   // the GET stream was started
	// inFlight cancels the POST of each request not yet answered, by id:
	// a host's notifications/cancelled also drops the request's stream,
	// which is how 2026-07-28 (stateless) servers learn of it.
	inFlight map[string]context.CancelFunc

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Headers of the Streamable HTTP transport.
const (
	sessionIDHeader       = "Mcp-Session-Id"
	protocolVersionHeader = "MCP-Protocol-Version"
	lastEventIDHeader     = "Last-Event-ID"
)

// listenRetries bounds the GET stream's reconnections in a row that fail.
const listenRetries = 5

// DialStreamable prepares a connection to the Streamable HTTP MCP server
// at endpoint; header is sent with every request (e.g. Authorization);
// client nil is a client without a total timeout (streams are long).
// Nothing is sent until the host's first frame.
func DialStreamable(ctx context.Context, endpoint string, header http.Header, log *slog.Logger) (*StreamableConn, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q must be an http:// or https:// URL", endpoint)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &StreamableConn{
		endpoint: u.String(), header: header.Clone(), client: &http.Client{}, log: log,
		ctx: cctx, cancel: cancel, incoming: make(chan []byte, 16), closed: make(chan struct{}),
	}, nil
}

// Read returns the next frame from the server; io.EOF after Close.
func (c *StreamableConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case f := <-c.incoming:
		return f, nil
	case <-c.closed:
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// deliver hands a frame to Read, as one line: JSON's whitespace between
// tokens is all a newline can be, so compacting changes no value.
func (c *StreamableConn) deliver(frame []byte) {
	frame = bytes.TrimSpace(frame)
	if len(frame) == 0 {
		return
	}
	if bytes.ContainsAny(frame, "\r\n") {
		var b bytes.Buffer
		if json.Compact(&b, frame) != nil {
			c.log.Warn("the MCP server sent a message that is not JSON; not relayed", "bytes", len(frame))
			return
		}
		frame = b.Bytes()
	}
	c.noteAnswer(frame)
	select {
	case c.incoming <- frame:
	case <-c.ctx.Done():
	}
}

// noteAnswer takes the negotiated protocol version from the answer to
// initialize.
func (c *StreamableConn) noteAnswer(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.initID == "" {
		return
	}
	for _, m := range parseMessages(frame) {
		if m.Method == "" && idKey(m.ID) == c.initID {
			var r struct {
				ProtocolVersion string `json:"protocolVersion"`
			}
			if json.Unmarshal(m.Result, &r) == nil && validHeaderValue(r.ProtocolVersion) {
				c.version = r.ProtocolVersion
			}
			c.initID = ""
		}
	}
}

// Write POSTs a frame. A frame holding requests is sent in the background,
// so a long call does not hold up the host's next frames (a cancellation
// among them); its answer arrives through Read. Notifications and answers
// are sent before Write returns, keeping their order.
func (c *StreamableConn) Write(ctx context.Context, frame []byte) error {
	var requests []json.RawMessage
	var cancelled []context.CancelFunc
	startListening := false
	c.mu.Lock()
	for _, m := range parseMessages(frame) {
		if m.Method == "notifications/cancelled" {
			var p struct {
				RequestID json.RawMessage `json:"requestId"`
			}
			if json.Unmarshal(m.Params, &p) == nil {
				if cancel, ok := c.inFlight[idKey(p.RequestID)]; ok {
					cancelled = append(cancelled, cancel)
				}
			}
		}
		switch {
		case m.Method != "" && idKey(m.ID) != "":
			requests = append(requests, m.ID)
			if m.Method == "initialize" {
				c.initID = idKey(m.ID)
			}
		case m.Method == "notifications/initialized" && !c.listening:
			c.listening, startListening = true, true
		}
	}
	c.mu.Unlock()
	body := bytes.Clone(frame)
	hdr := frameHeaders(frame)
	if len(requests) == 0 {
		err := c.post(ctx, body, hdr, nil)
		for _, cancel := range cancelled {
			cancel()
		}
		if startListening {
			c.wg.Add(1)
			go c.listen()
		}
		return err
	}
	rctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	if c.inFlight == nil {
		c.inFlight = map[string]context.CancelFunc{}
	}
	for _, id := range requests {
		c.inFlight[idKey(id)] = cancel
	}
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			for _, id := range requests {
				delete(c.inFlight, idKey(id))
			}
			c.mu.Unlock()
			cancel()
		}()
		if err := c.post(rctx, body, hdr, requests); err != nil && rctx.Err() == nil {
			c.log.Warn("a request to the MCP server failed; the host is answered with an error", "err", err)
			for _, id := range requests {
				c.deliver(errorAnswer(id, err))
			}
		}
	}()
	return nil
}

// post sends one frame and relays what the server answers on it.
func (c *StreamableConn) post(ctx context.Context, body []byte, hdr http.Header, requests []json.RawMessage) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	c.setHeaders(req)
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", c.redacted(), err)
	}
	defer resp.Body.Close()
	if sid := resp.Header.Get(sessionIDHeader); sid != "" && validHeaderValue(sid) {
		c.mu.Lock()
		if c.sessionID == "" {
			c.sessionID = sid
		}
		c.mu.Unlock()
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusNoContent:
		return nil
	case resp.StatusCode/100 == 2 && mediaType == "text/event-stream":
		return c.relayStream(resp.Body, nil)
	case resp.StatusCode/100 == 2 && mediaType == "application/json":
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("read the answer: %w", err)
		}
		c.deliver(data)
		return nil
	case resp.StatusCode/100 == 2 && len(requests) == 0:
		return nil // some servers answer a notification 200 with no body
	}
	// An error status: a JSON-RPC error body is the server's answer to the
	// host; anything else is answered for it.
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if mediaType == "application/json" && len(parseMessages(data)) > 0 && len(requests) > 0 {
		c.deliver(data)
		return nil
	}
	if resp.StatusCode == http.StatusNotFound && c.SessionID() != "" {
		return errors.New("the MCP server's session has ended (404 Not Found); the host must start a new one")
	}
	return fmt.Errorf("POST %s: %s: %s", c.redacted(), resp.Status, clip(strings.TrimSpace(string(data)), 512))
}

// relayStream relays the events of an event stream until it ends; the
// last event id and retry delay go to last when it is not nil.
func (c *StreamableConn) relayStream(body io.Reader, last *listenState) error {
	r := newSSEReader(body)
	for {
		ev, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if last != nil {
			if ev.ID != "" {
				last.id = ev.ID
			}
			if ev.Retry > 0 {
				last.retry = time.Duration(ev.Retry) * time.Millisecond
			}
		}
		if ev.Type != "" && ev.Type != "message" {
			continue
		}
		c.deliver(ev.Data)
	}
}

// listenState is where the GET stream stands, for its reconnection.
type listenState struct {
	id    string
	retry time.Duration
}

// listen keeps the GET event stream open for the server's own requests
// and notifications, reconnecting with Last-Event-ID when it drops, until
// Close. A server without one (405) is fine.
func (c *StreamableConn) listen() {
	defer c.wg.Done()
	st := &listenState{retry: time.Second}
	failures := 0
	for c.ctx.Err() == nil {
		ok, again := c.listenOnce(st)
		if !again {
			return
		}
		if ok {
			failures = 0
		} else if failures++; failures > listenRetries {
			c.log.Warn("the MCP server's event stream (GET) failed too often; server-initiated messages outside a request are not relayed")
			return
		}
		select {
		case <-time.After(st.retry):
		case <-c.ctx.Done():
			return
		}
	}
}

// listenOnce opens the GET stream once and relays it; ok says whether it
// was opened, again whether to reconnect.
func (c *StreamableConn) listenOnce(st *listenState) (ok, again bool) {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, c.endpoint, nil)
	if err != nil {
		return false, false
	}
	c.setHeaders(req)
	req.Header.Set("Accept", "text/event-stream")
	if st.id != "" {
		req.Header.Set(lastEventIDHeader, st.id)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return false, c.ctx.Err() == nil
	}
	defer resp.Body.Close()
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode/100 != 2 || mediaType != "text/event-stream" {
		if resp.StatusCode != http.StatusMethodNotAllowed {
			c.log.Info("the MCP server offers no event stream (GET)", "status", resp.StatusCode)
		}
		return false, false
	}
	if err := c.relayStream(resp.Body, st); err != nil && c.ctx.Err() == nil {
		c.log.Warn("the MCP server's event stream (GET) broke", "err", err)
	}
	return true, c.ctx.Err() == nil
}

// MCP 2026-07-28 (SEP-2575, SEP-2243): a request names its protocol
// version in params._meta, which must match the MCP-Protocol-Version
// header, and carries Mcp-Method and Mcp-Name headers for routing.
const (
	metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"
	standardHeadersFrom = "2026-07-28"
	methodHeader        = "Mcp-Method"
	nameHeader          = "Mcp-Name"
)

// frameHeaders are the headers a single request's own content sets: its
// protocol version from _meta and, from 2026-07-28, its method and name.
// A batch or a request without a version in _meta sets none (the
// negotiated version goes on every request anyway).
func frameHeaders(frame []byte) http.Header {
	msgs := parseMessages(frame)
	if len(msgs) != 1 || msgs[0].Method == "" || bytes.HasPrefix(bytes.TrimSpace(frame), []byte("[")) {
		return nil
	}
	m := msgs[0]
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
		Name string                     `json:"name"`
		URI  string                     `json:"uri"`
	}
	if json.Unmarshal(m.Params, &p) != nil {
		return nil
	}
	var version string
	if json.Unmarshal(p.Meta[metaProtocolVersion], &version) != nil || !validHeaderValue(version) {
		return nil
	}
	h := http.Header{}
	h.Set(protocolVersionHeader, version)
	if version >= standardHeadersFrom {
		h.Set(methodHeader, headerText(m.Method))
		switch m.Method {
		case "tools/call", "prompts/get":
			if p.Name != "" {
				h.Set(nameHeader, headerText(p.Name))
			}
		case "resources/read":
			if p.URI != "" {
				h.Set(nameHeader, headerText(p.URI))
			}
		}
	}
	return h
}

// headerText is s as a header value: itself when it is plain visible ASCII
// without surrounding blanks, else SEP-2243's =?base64?…?= form.
func headerText(s string) string {
	const prefix, suffix = "=?base64?", "?="
	plain := s != "" && s[0] != ' ' && s[len(s)-1] != ' ' && !(strings.HasPrefix(s, prefix) && strings.HasSuffix(s, suffix))
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= 0x20 && s[i] <= 0x7e
	}
	if plain {
		return s
	}
	return prefix + base64.StdEncoding.EncodeToString([]byte(s)) + suffix
}

func (c *StreamableConn) setHeaders(req *http.Request) {
	for k, vs := range c.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessionID != "" {
		req.Header.Set(sessionIDHeader, c.sessionID)
	}
	if c.version != "" {
		req.Header.Set(protocolVersionHeader, c.version)
	}
}

// SessionID is the session the server assigned; "" before initialize or
// for a server without sessions.
func (c *StreamableConn) SessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// Close stops the streams and requests in flight and ends the server's
// session with DELETE (a server that does not allow it answers 405).
func (c *StreamableConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.cancel()
		close(c.closed)
		if sid := c.SessionID(); sid != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, rerr := http.NewRequestWithContext(ctx, http.MethodDelete, c.endpoint, nil)
			if rerr == nil {
				c.setHeaders(req)
				resp, derr := c.client.Do(req)
				if derr != nil {
					err = fmt.Errorf("end the MCP server's session: %w", derr)
				} else {
					resp.Body.Close()
				}
			}
		}
		c.wg.Wait()
	})
	return err
}

// redacted is the endpoint for messages, without userinfo or query (where
// a credential may sit).
func (c *StreamableConn) redacted() string {
	u, err := url.Parse(c.endpoint)
	if err != nil {
		return "the MCP server"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// errorAnswer is a JSON-RPC error answer to request id, for a request the
// server could not be asked or did not answer.
func errorAnswer(id json.RawMessage, err error) []byte {
	data, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   rpcError        `json:"error"`
	}{"2.0", id, rpcError{Code: -32603, Message: "agentscope proxy: " + err.Error()}})
	return data
}

// validHeaderValue reports whether v can be sent as a header value as it
// is (visible ASCII), as MCP requires of session ids.
func validHeaderValue(v string) bool {
	if v == "" || len(v) > 1024 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return false
		}
	}
	return true
}
