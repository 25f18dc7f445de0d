package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope/internal/jsonscan"
)

// The record_event fast path.
//
// record_event is the call an instrumented agent makes most, one per model
// call, tool call and cost. Through go-sdk's Streamable HTTP server each call
// crosses three goroutines (the HTTP handler, the connection's reader, a
// handler goroutine per request), is decoded into go-sdk's message types,
// passes the middleware chain, and its result is encoded twice on the way
// back; under 32 clients that machinery was about a third of the server's
// CPU per call, more than the recording itself.
//
// So a POST that is exactly a tools/call of record_event, on a session
// go-sdk has already served a record_event for, with nothing in it the fast
// path does not understand, is answered here, by the same handler function
// go-sdk would call, with the same JSON-RPC result. Everything else — other
// methods and tools, batches, _meta (progress tokens), unexpected members or
// headers, an unknown or foreign session, another protocol version than the
// session's — goes to go-sdk unchanged, body and all, and gets whatever
// answer go-sdk gives. The fast path never answers an error of its own.
//
// go-sdk closes a session after SessionTimeout without requests it saw, so
// a session whose requests all took the fast path would be closed while in
// use: a call on a session go-sdk has not served for fastRefresh goes to
// go-sdk, which resets its timer.

// fastRefresh is how long after go-sdk last served a session the fast path
// answers for it; well under SessionTimeout.
const fastRefresh = time.Minute

// fastVersions are the protocol versions whose POSTs need nothing the fast
// path does not check ("" is a client that sends no version header).
var fastVersions = map[string]bool{"": true, "2024-11-05": true, "2025-03-26": true, "2025-06-18": true, "2025-11-25": true}

// fastSession is an HTTP session the fast path may answer for.
type fastSession struct {
	ss      *mcp.ServerSession
	user    string // the token's UserID, as go-sdk binds the session to it
	org     string
	version string       // the Mcp-Protocol-Version header the session uses
	viaSDK  atomic.Int64 // when go-sdk last served the session (Unix ns)
}

type fastSessions struct {
	mu sync.RWMutex
	m  map[string]*fastSession
	// now is the clock (tests move it).
	now func() time.Time
	// off turns the fast path off (tests compare both paths).
	off bool
	// answered counts the calls the fast path answered.
	answered atomic.Int64
}

func (f *fastSessions) get(id string) *fastSession {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.m[id]
}

func (f *fastSessions) forget(id string) {
	f.mu.Lock()
	delete(f.m, id)
	f.mu.Unlock()
}

// servedBySDK notes that go-sdk served a record_event on req's session; the
// first time, the session joins the fast path until it closes.
func (f *fastSessions) servedBySDK(req *mcp.CallToolRequest) {
	if req.Session == nil || req.Extra == nil || req.Extra.Header == nil || req.Extra.TokenInfo == nil {
		return // stdio and in-memory sessions have no HTTP requests to speed up
	}
	id := req.Session.ID()
	org, _ := req.Extra.TokenInfo.Extra[OrgKey].(string)
	version := req.Extra.Header.Get("Mcp-Protocol-Version")
	if id == "" || org == "" || !fastVersions[version] {
		return
	}
	now := f.now().UnixNano()
	f.mu.Lock()
	fs := f.m[id]
	if fs == nil {
		if f.m == nil {
			f.m = map[string]*fastSession{}
		}
		fs = &fastSession{ss: req.Session, user: req.Extra.TokenInfo.UserID, org: org, version: version}
		f.m[id] = fs
		go func() {
			_ = req.Session.Wait()
			f.forget(id)
		}()
	}
	f.mu.Unlock()
	fs.viaSDK.Store(now)
}

// fastRequest is the one JSON-RPC request the fast path answers.
type fastRequest struct {
	id   json.RawMessage
	args json.RawMessage
}

// parseFastRequest accepts exactly {"jsonrpc":"2.0","id":ID,"method":
// "tools/call","params":{"name":"record_event","arguments":{…}}} (members in
// any order, "arguments" optional), with an integer or plain string id.
func parseFastRequest(body []byte) (fastRequest, bool) {
	// Members into fixed arrays, not jsonscan.Object's maps: this runs on
	// every record_event call, where two maps a call were a fifth of the
	// bytes the server allocated.
	var (
		r                             fastRequest
		buf                           [4]jsonscan.Member
		jsonrpc, method, params, name json.RawMessage
	)
	top, ok := jsonscan.Members(body, buf[:0])
	if !ok || len(top) != 4 {
		return r, false
	}
	for _, m := range top {
		var dst *json.RawMessage
		switch string(m.Key) {
		case "jsonrpc":
			dst = &jsonrpc
		case "id":
			dst = &r.id
		case "method":
			dst = &method
		case "params":
			dst = &params
		default:
			return r, false
		}
		if *dst != nil {
			return r, false // a repeated member
		}
		*dst = m.Value
	}
	if v, ok := jsonscan.String(jsonrpc); !ok || v != "2.0" {
		return r, false
	}
	if v, ok := jsonscan.String(method); !ok || v != "tools/call" {
		return r, false
	}
	if !fastID(r.id) {
		return r, false
	}
	var pbuf [2]jsonscan.Member
	members, ok := jsonscan.Members(params, pbuf[:0])
	if !ok || len(members) == 0 || len(members) > 2 {
		return r, false
	}
	for _, m := range members {
		var dst *json.RawMessage
		switch string(m.Key) {
		case "name":
			dst = &name
		case "arguments":
			dst = &r.args
		default:
			return r, false
		}
		if *dst != nil {
			return r, false
		}
		*dst = m.Value
	}
	if v, ok := jsonscan.String(name); !ok || v != "record_event" {
		return r, false
	}
	return r, true
}

// fastID: a JSON integer of up to 15 digits (exact in every client's
// numbers) or a string without escapes, which go-sdk echoes as sent.
func fastID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	if raw[0] == '"' {
		_, ok := jsonscan.String(raw)
		return ok
	}
	digits := raw
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 || (digits[0] == '0' && len(digits) > 1) {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// fastRecord answers record_event calls that qualify (see above) and passes
// every other request to next, go-sdk's handler.
func (s *Server) fastRecord(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			// The session ends: from now on go-sdk answers for it (404),
			// even before the session's Wait returns.
			s.fast.forget(r.Header.Get("Mcp-Session-Id"))
		}
		fs := s.fastSessionFor(r)
		if fs == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		req, ok := fastRequest{}, false
		if err == nil && len(body) <= maxRequestBody {
			req, ok = parseFastRequest(body)
		}
		if !ok {
			// go-sdk reads the body as sent, whatever was read of it here.
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
			next.ServeHTTP(w, r)
			return
		}
		// The caller is the request's (fastSessionFor checked it is the
		// session's), as go-sdk would give the tool.
		res, err := s.recordEventResult(r.Context(), req.args, fs.ss, func(ctx context.Context) (context.Context, error) {
			return s.orgContext(ctx, nil)
		})
		s.recordCalls.Done(err != nil || res.IsError)
		var out []byte
		if err == nil {
			out, err = appendToolResult(nil, res)
		}
		if err != nil {
			// Not reachable for the results recordEventResult makes; answered
			// as go-sdk answers a handler's failure.
			s.log.Error("record_event result", "err", err)
			out = []byte(`{"content":[{"type":"text","text":"internal error"}],"isError":true}`)
		}
		h := w.Header()
		h.Set("Cache-Control", "no-cache, no-transform")
		h.Set("Content-Type", "application/json")
		var b bytes.Buffer
		b.Grow(len(out) + len(req.id) + 40)
		b.WriteString(`{"jsonrpc":"2.0","id":`)
		b.Write(req.id)
		b.WriteString(`,"result":`)
		b.Write(out)
		b.WriteString("}\n")
		_, _ = w.Write(b.Bytes())
		s.fast.answered.Add(1)
	})
}

// appendToolResult appends res as go-sdk encodes a CallToolResult, for the
// results recordEventResult makes (one text content, structured content as
// raw JSON, no metadata), without reflection; any other result is left to
// encoding/json. TestFastPathAnswersAsGoSDK holds the two answers equal.
func appendToolResult(dst []byte, res *mcp.CallToolResult) ([]byte, error) {
	var text *mcp.TextContent
	if len(res.Content) == 1 {
		text, _ = res.Content[0].(*mcp.TextContent)
	}
	structured, raw := res.StructuredContent.(json.RawMessage)
	if text == nil || text.Meta != nil || text.Annotations != nil || res.Meta != nil || (res.StructuredContent != nil && !raw) {
		out, err := json.Marshal(res)
		return append(dst, out...), err
	}
	dst = append(dst, `{"content":[{"type":"text","text":`...)
	dst = jsonscan.AppendString(dst, text.Text)
	dst = append(dst, "}]"...)
	if len(structured) > 0 {
		dst = append(dst, `,"structuredContent":`...)
		dst = append(dst, structured...)
	}
	if res.IsError {
		dst = append(dst, `,"isError":true`...)
	}
	return append(dst, '}'), nil
}

// fastSessionFor returns the session r may be answered for by the fast
// path, judging by its headers only; nil sends r to go-sdk.
func (s *Server) fastSessionFor(r *http.Request) *fastSession {
	if r.Method != http.MethodPost || s.fast.off {
		return nil
	}
	id := r.Header.Get("Mcp-Session-Id")
	if id == "" {
		return nil
	}
	fs := s.fast.get(id)
	if fs == nil || s.fast.now().UnixNano()-fs.viaSDK.Load() > int64(fastRefresh) {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil
	}
	if !acceptsBoth(r.Header.Values("Accept")) {
		return nil
	}
	versions := r.Header.Values("Mcp-Protocol-Version")
	if len(versions) > 1 || (len(versions) == 1) != (fs.version != "") || (len(versions) == 1 && versions[0] != fs.version) {
		return nil
	}
	for k := range r.Header {
		// Last-Event-ID, and the per-request headers of newer protocol
		// versions (Mcp-Method, Mcp-Name, Mcp-Param-*), are go-sdk's to judge.
		if k == "Last-Event-Id" || (strings.HasPrefix(k, "Mcp-") && k != "Mcp-Session-Id" && k != "Mcp-Protocol-Version") {
			return nil
		}
	}
	info := auth.TokenInfoFromContext(r.Context())
	if info == nil || info.UserID != fs.user {
		return nil
	}
	if org, _ := info.Extra[OrgKey].(string); org != fs.org {
		return nil
	}
	return fs
}

// acceptsBoth is go-sdk's check of a POST's Accept header: it must take
// both application/json and text/event-stream.
func acceptsBoth(values []string) bool {
	var jsonOK, streamOK bool
	for _, v := range values {
		for _, raw := range strings.Split(v, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK && streamOK
}
