package mcpproxy

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
)

// message is the part of a JSON-RPC message the proxy looks at, decoded
// from a copy of what it relays.
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

type rpcError struct {
	Code    int64  `json:"code"`
	Message string `json:"message"`
}

// parseMessages decodes a relayed frame: one JSON-RPC message or a batch
// (an array of them). What is not JSON-RPC yields nothing: the proxy still
// relays it, it only cannot see into it.
func parseMessages(data []byte) []message {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	if data[0] == '[' {
		var raws []json.RawMessage
		if json.Unmarshal(data, &raws) != nil {
			return nil
		}
		msgs := make([]message, 0, len(raws))
		for _, raw := range raws {
			var m message
			if json.Unmarshal(raw, &m) == nil {
				msgs = append(msgs, m)
			}
		}
		return msgs
	}
	var m message
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	return []message{m}
}

// idKey is a request id as a map key: its JSON text, so 1 and "1" differ
// as JSON-RPC says they do. A missing or null id is no call.
func idKey(id json.RawMessage) string {
	id = bytes.TrimSpace(id)
	if len(id) == 0 || string(id) == "null" {
		return ""
	}
	return string(id)
}

// Limits of what one recorded event carries, under the store's 256 KiB
// per event: a larger tool argument or result is replaced by a note of its
// size (the call itself is relayed whole).
const (
	maxRecordedJSON  = 192 << 10
	maxErrorText     = 4096
	maxCallIDLen     = 128
	defaultHostAgent = "mcp-host"
)

// wireEvent is an event as the proxy records it: the client-sent fields of
// POST /api/v1/events (never seq, agent or other server-set fields).
type wireEvent struct {
	EventID    string          `json:"event_id"`
	SessionID  string          `json:"session_id"`
	Type       string          `json:"type"`
	TS         time.Time       `json:"ts"`
	Tool       string          `json:"tool"`
	CallID     string          `json:"call_id"`
	Arguments  json.RawMessage `json:"arguments,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	DurationMS *float64        `json:"duration_ms,omitempty"`
	Status     string          `json:"status,omitempty"`
	Error      string          `json:"error,omitempty"`
	Attributes map[string]any  `json:"attributes,omitempty"`
}

func (ev *wireEvent) setAttr(k string, v any) {
	if ev.Attributes == nil {
		ev.Attributes = map[string]any{}
	}
	ev.Attributes[k] = v
}

// pendingCall is a tools/call the host sent and the server has not answered.
type pendingCall struct {
	tool, callID string
	started      time.Time
}

// session follows one host connection: it starts the session at
// initialize, turns each tools/call and its answer into ToolCalled and
// ToolReturned, and ends the session when the connection closes.
type session struct {
	rec   *Recorder // nil: nothing is recorded
	agent string    // "" takes the host's clientInfo.name
	now   func() time.Time

	mu      sync.Mutex
	id      string // "" until the host's initialize
	server  string // the server's serverInfo.name, once it answered initialize
	initID  string
	pending map[string]pendingCall
	ended   bool
}

func newSession(rec *Recorder, agent string) *session {
	return &session{rec: rec, agent: agent, now: time.Now, pending: map[string]pendingCall{}}
}

// fromHost looks at a frame the host sent to the server.
func (s *session) fromHost(frame []byte) {
	if s.rec == nil {
		return
	}
	for _, m := range parseMessages(frame) {
		s.hostMessage(m)
	}
}

// fromServer looks at a frame the server sent to the host.
func (s *session) fromServer(frame []byte) {
	if s.rec == nil {
		return
	}
	for _, m := range parseMessages(frame) {
		s.serverMessage(m)
	}
}

func (s *session) hostMessage(m message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	id := idKey(m.ID)
	switch m.Method {
	case "initialize", "server/discover": // server/discover: MCP 2026-07-28's stateless handshake
		if id == "" {
			return
		}
		s.initID = id // the answer names the server
		s.startLocked(peerName(m.Params, "clientInfo"), m.Params)
	case "tools/call":
		if id == "" {
			return
		}
		if _, dup := s.pending[id]; dup {
			return // a reused id: the first call keeps it
		}
		var p struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		_ = json.Unmarshal(m.Params, &p)
		if p.Name == "" {
			return // not a tool call the server can answer either
		}
		s.startLocked(peerName(m.Params, "clientInfo"), nil)
		now := s.now()
		c := pendingCall{tool: p.Name, callID: callID(id), started: now}
		s.pending[id] = c
		ev := s.eventLocked("ToolCalled", c, now)
		if args := bytes.TrimSpace(p.Arguments); len(args) > 0 && args[0] == '{' {
			if len(args) > maxRecordedJSON {
				ev.setAttr("arguments_omitted_bytes", len(args))
			} else {
				ev.Arguments = args
			}
		}
		s.emitLocked(ev)
	case "notifications/cancelled":
		var p struct {
			RequestID json.RawMessage `json:"requestId"`
			Reason    string          `json:"reason"`
		}
		_ = json.Unmarshal(m.Params, &p)
		c, ok := s.pending[idKey(p.RequestID)]
		if !ok {
			return
		}
		delete(s.pending, idKey(p.RequestID))
		text := "cancelled by the client"
		if p.Reason != "" {
			text += ": " + p.Reason
		}
		s.returnLocked(c, nil, text)
	}
}

func (s *session) serverMessage(m message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || m.Method != "" {
		return // server requests and notifications are relayed, not recorded
	}
	id := idKey(m.ID)
	if id == "" {
		return
	}
	if id == s.initID && s.initID != "" {
		s.server = peerName(m.Result, "serverInfo")
		s.initID = ""
		return
	}
	c, ok := s.pending[id]
	if !ok {
		return
	}
	delete(s.pending, id)
	if m.Error != nil {
		s.returnLocked(c, nil, clip(m.Error.Message, maxErrorText))
		return
	}
	var r struct {
		IsError bool `json:"isError"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	_ = json.Unmarshal(m.Result, &r)
	errText := ""
	if r.IsError {
		var texts []string
		for _, c := range r.Content {
			if c.Type == "text" && c.Text != "" {
				texts = append(texts, c.Text)
			}
		}
		errText = clip(strings.Join(texts, "\n"), maxErrorText)
		if errText == "" {
			errText = "the tool reported an error (isError)"
		}
	}
	s.returnLocked(c, m.Result, errText)
}

// end ends the session: calls still unanswered return with an error, then
// the session ends with status (completed or failed). A connection that
// never initialized has no session to end.
func (s *session) end(status, errText string) {
	if s.rec == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.ended = true
	if s.id == "" {
		return
	}
	for id, c := range s.pending {
		delete(s.pending, id)
		s.returnLocked(c, nil, "no answer: the connection closed first")
	}
	s.rec.End(s.id, status, errText)
}

// startLocked starts the session once, with the host's name as the agent
// unless the proxy was given one.
func (s *session) startLocked(clientName string, input json.RawMessage) {
	if s.id != "" {
		return
	}
	s.id = agentscope.NewSessionID()
	agent := s.agent
	if agent == "" {
		agent = agentName(clientName)
	}
	if in := bytes.TrimSpace(input); len(in) == 0 || len(in) > maxRecordedJSON || !json.Valid(in) {
		input = nil
	}
	s.rec.Start(s.id, agent, input, s.now())
}

func (s *session) eventLocked(typ string, c pendingCall, ts time.Time) wireEvent {
	ev := wireEvent{EventID: agentscope.NewEventID(), SessionID: s.id, Type: typ, TS: ts.UTC(), Tool: c.tool, CallID: c.callID}
	if s.server != "" {
		ev.setAttr("mcp.server", clip(s.server, 256))
	}
	return ev
}

// returnLocked records a call's ToolReturned: status error when errText
// is set (a JSON-RPC error, isError, a cancellation, no answer).
func (s *session) returnLocked(c pendingCall, result json.RawMessage, errText string) {
	now := s.now()
	ev := s.eventLocked("ToolReturned", c, now)
	ms := float64(now.Sub(c.started).Microseconds()) / 1000
	if ms < 0 {
		ms = 0
	}
	ev.DurationMS = &ms
	ev.Status = "ok"
	if errText != "" {
		ev.Status, ev.Error = "error", errText
	}
	if res := bytes.TrimSpace(result); len(res) > 0 {
		if len(res) > maxRecordedJSON {
			ev.setAttr("result_omitted_bytes", len(res))
		} else {
			ev.Result = res
		}
	}
	s.emitLocked(ev)
}

func (s *session) emitLocked(ev wireEvent) {
	data, err := json.Marshal(ev)
	if err == nil {
		_, err = agentscope.DecodeEvent(data)
	}
	if err != nil && (ev.Arguments != nil || ev.Result != nil) {
		// Arguments or a result AgentScope would refuse (not JSON, a key
		// twice in an object, …): record the call without them, saying
		// why, rather than lose the event.
		if ev.Arguments != nil {
			ev.setAttr("arguments_omitted", clip(agentscope.ErrorMessage(err), 256))
		}
		if ev.Result != nil {
			ev.setAttr("result_omitted", clip(agentscope.ErrorMessage(err), 256))
		}
		ev.Arguments, ev.Result = nil, nil
		data, err = json.Marshal(ev)
	}
	if err != nil {
		return
	}
	s.rec.Event(s.id, data)
}

// peerName is the name of the client or server an initialize (or
// server/discover) message carries: params.clientInfo / result.serverInfo,
// or, from MCP 2026-07-28, the same under _meta's
// io.modelcontextprotocol/ key.
func peerName(obj json.RawMessage, field string) string {
	var v map[string]json.RawMessage
	if json.Unmarshal(obj, &v) != nil {
		return ""
	}
	var info struct {
		Name string `json:"name"`
	}
	if raw, ok := v[field]; ok && json.Unmarshal(raw, &info) == nil && info.Name != "" {
		return info.Name
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(v["_meta"], &meta) == nil && json.Unmarshal(meta["io.modelcontextprotocol/"+field], &info) == nil {
		return info.Name
	}
	return ""
}

// callID is the JSON-RPC id as the call's call_id: a string id's text, a
// number's digits.
func callID(id string) string {
	var str string
	if json.Unmarshal([]byte(id), &str) == nil {
		id = str
	}
	if id == "" {
		id = `""`
	}
	return clip(id, maxCallIDLen)
}

// agentName makes the host's clientInfo.name a valid agent name:
// characters outside [A-Za-z0-9_.-] become '-', at most 64, starting with
// a letter or digit; defaultHostAgent when nothing is left.
func agentName(client string) string {
	var b strings.Builder
	for _, r := range client {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.TrimLeft(b.String(), "_.-")
	if len(name) > 64 {
		name = name[:64]
	}
	if agentscope.ValidateAgentName(name) != nil {
		return defaultHostAgent
	}
	return name
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
