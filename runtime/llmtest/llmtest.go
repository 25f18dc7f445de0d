// Package llmtest is an OpenAI-compatible chat-completions server for tests
// and benchmarks, written to the API's contract rather than to any client:
// scripted replies with text and tool calls, streaming as server-sent events
// ("data: {chunk}" lines ending with "data: [DONE]") with the usage in a
// last chunk when the request sets stream_options.include_usage, usage
// details (prompt_tokens_details.cached_tokens,
// completion_tokens_details.reasoning_tokens), errors with OpenAI's status
// codes and body {"error":{"message","type","code"}}, and slow or held
// answers.
//
//	srv := llmtest.New()
//	defer srv.Close()
//	srv.Script(llmtest.Reply{Content: "hello", Usage: llmtest.Usage{PromptTokens: 12, CompletionTokens: 2}})
//	// point an OpenAI client at srv.URL (which ends in /v1)
package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Reply is one scripted answer. A zero Status answers 200 with the content
// and tool calls; any other status answers with OpenAI's error body.
type Reply struct {
	Content   string
	ToolCalls []ToolCall
	Usage     Usage
	// FinishReason defaults to "tool_calls" when there are tool calls and
	// "stop" otherwise.
	FinishReason string
	// Model is the model the response names; the request's by default.
	Model string

	// Status, if not 0, answers with this HTTP status and an error body.
	Status       int
	ErrorMessage string
	ErrorType    string
	ErrorCode    string

	// Delay waits before answering.
	Delay time.Duration
	// Hold, if not nil, waits until it is closed (or the client goes away)
	// before answering.
	Hold <-chan struct{}
}

// ToolCall is a function call the model asks for.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// Usage is a reply's token accounting. PromptTokens includes CachedTokens
// and CompletionTokens includes ReasoningTokens, as OpenAI reports them.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	CachedTokens     int
	ReasoningTokens  int
	// CacheWriteTokens are input tokens written to the prompt cache
	// (Anthropic's cache_creation_input_tokens), part of PromptTokens.
	CacheWriteTokens int
}

// Message is one chat message of a request.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	ToolCalls  []wireCall `json:"tool_calls,omitempty"`
}

// Request is a chat-completions request as the server received it.
type Request struct {
	Model        string
	Stream       bool
	IncludeUsage bool
	Messages     []Message
	// Tools are the names of the functions offered.
	Tools []string
	// ToolSchemas maps each offered function to its parameters schema.
	ToolSchemas map[string]json.RawMessage
	// Authorization is the request's Authorization header.
	Authorization string
	// APIKey is the request's x-api-key header (Anthropic's).
	APIKey string
	// Path is the request's path (/v1/chat/completions, /v1/messages, …).
	Path string
	// EncodingFormat is an embeddings request's encoding_format.
	EncodingFormat string
	// ResponseFormat is the request's response_format, if any.
	ResponseFormat json.RawMessage
}

// LastUser returns the content of the request's last user message.
func (r Request) LastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// ToolResults returns the contents of the request's tool messages, in order.
func (r Request) ToolResults() []string {
	var out []string
	for _, m := range r.Messages {
		if m.Role == "tool" {
			out = append(out, m.Content)
		}
	}
	return out
}

// Server is the test server.
type Server struct {
	// URL is the base URL to configure a client with; it ends in /v1.
	URL string
	// APIKey, if set, is required as "Authorization: Bearer <APIKey>";
	// other requests get 401 invalid_api_key.
	APIKey string

	srv      *httptest.Server
	mu       sync.Mutex
	script   []Reply
	handler  func(Request) Reply
	requests []Request
	answers  [][]byte
	received chan Request
}

// Answers returns the bodies the server answered so far, byte for byte,
// in the order the answers ended (to compare with what a client behind a
// proxy received).
func (s *Server) Answers() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.answers...)
}

// keepAnswers keeps a copy of each answer's body.
func (s *Server) keepAnswers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &copyWriter{ResponseWriter: w}
		h.ServeHTTP(cw, r)
		s.mu.Lock()
		s.answers = append(s.answers, cw.body.Bytes())
		s.mu.Unlock()
	})
}

// copyWriter copies what is written to the client.
type copyWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *copyWriter) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

func (c *copyWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// New starts a server with an empty script.
func New() *Server {
	s := &Server{received: make(chan Request, 1024)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.serveChat)
	mux.HandleFunc("POST /v1/messages", s.serveMessages)
	mux.HandleFunc("POST /v1/responses", s.serveResponses)
	mux.HandleFunc("POST /v1/embeddings", s.serveEmbeddings)
	s.srv = httptest.NewServer(s.keepAnswers(mux))
	s.URL = s.srv.URL + "/v1"
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Script queues replies, answered in order one per request.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	s.script = append(s.script, replies...)
	s.mu.Unlock()
}

// Handle answers every request the script has no reply left for with h.
func (s *Server) Handle(h func(Request) Reply) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Received delivers each request as it arrives (when the buffer has room),
// so a test can act while a reply is held.
func (s *Server) Received() <-chan Request { return s.received }

// wire types of the chat-completions API.
type wireCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type wireRequest struct {
	Model          string          `json:"model"`
	ResponseFormat json.RawMessage `json:"response_format"`
	Stream         bool            `json:"stream"`
	StreamOptions  *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []wireCall      `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
}

func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	var wr wireRequest
	if err := json.NewDecoder(r.Body).Decode(&wr); err != nil {
		writeError(w, http.StatusBadRequest, "could not parse the JSON body of your request", "invalid_request_error", "")
		return
	}
	req := Request{Model: wr.Model, Stream: wr.Stream, IncludeUsage: wr.StreamOptions != nil && wr.StreamOptions.IncludeUsage,
		Authorization: r.Header.Get("Authorization"), APIKey: r.Header.Get("X-Api-Key"), Path: r.URL.Path, ToolSchemas: map[string]json.RawMessage{}, ResponseFormat: wr.ResponseFormat}
	for _, m := range wr.Messages {
		msg := Message{Role: m.Role, ToolCallID: m.ToolCallID, ToolCalls: m.ToolCalls}
		var text string
		if json.Unmarshal(m.Content, &text) == nil {
			msg.Content = text
		} else {
			msg.Content = string(m.Content)
		}
		req.Messages = append(req.Messages, msg)
	}
	for _, t := range wr.Tools {
		req.Tools = append(req.Tools, t.Function.Name)
		req.ToolSchemas[t.Function.Name] = t.Function.Parameters
	}
	reply, ok := s.take(w, r, req, func(status int, msg string) {
		writeError(w, status, msg, "invalid_request_error", "invalid_api_key")
	})
	if !ok {
		return
	}
	if reply.Status != 0 {
		writeError(w, reply.Status, reply.ErrorMessage, reply.ErrorType, reply.ErrorCode)
		return
	}
	if reply.FinishReason == "" {
		reply.FinishReason = "stop"
		if len(reply.ToolCalls) > 0 {
			reply.FinishReason = "tool_calls"
		}
	}
	for i := range reply.ToolCalls {
		if reply.ToolCalls[i].ID == "" {
			reply.ToolCalls[i].ID = fmt.Sprintf("call_%d", i+1)
		}
	}
	if req.Stream {
		s.stream(w, req, reply)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "chatcmpl-llmtest", "object": "chat.completion", "created": time.Now().Unix(), "model": reply.Model,
		"choices": []any{map[string]any{"index": 0, "message": message(reply), "finish_reason": reply.FinishReason}},
		"usage":   usage(reply.Usage),
	})
}

// take records req and picks its reply, after the reply's delay or hold;
// false when the request was answered already (a wrong key, through
// unauthorized) or the client went away.
func (s *Server) take(w http.ResponseWriter, r *http.Request, req Request, unauthorized func(status int, msg string)) (Reply, bool) {
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var reply Reply
	switch {
	case len(s.script) > 0:
		reply, s.script = s.script[0], s.script[1:]
	case s.handler != nil:
		h := s.handler
		s.mu.Unlock()
		reply = h(req)
		s.mu.Lock()
	default:
		reply = Reply{Status: http.StatusInternalServerError, ErrorMessage: "llmtest: no scripted reply left", ErrorType: "server_error"}
	}
	s.mu.Unlock()
	if reply.Model == "" {
		reply.Model = req.Model
	}
	select {
	case s.received <- req:
	default:
	}
	if s.APIKey != "" && req.Authorization != "Bearer "+s.APIKey && req.APIKey != s.APIKey {
		unauthorized(http.StatusUnauthorized, "Incorrect API key provided.")
		return reply, false
	}
	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			return reply, false
		}
	}
	if reply.Hold != nil {
		select {
		case <-reply.Hold:
		case <-r.Context().Done():
			return reply, false
		}
	}
	return reply, true
}

func message(r Reply) map[string]any {
	m := map[string]any{"role": "assistant", "content": r.Content}
	if len(r.ToolCalls) > 0 {
		var calls []any
		for _, c := range r.ToolCalls {
			calls = append(calls, map[string]any{"id": c.ID, "type": "function", "function": map[string]any{"name": c.Name, "arguments": c.Arguments}})
		}
		m["tool_calls"] = calls
		if r.Content == "" {
			m["content"] = nil
		}
	}
	return m
}

func usage(u Usage) map[string]any {
	return map[string]any{
		"prompt_tokens": u.PromptTokens, "completion_tokens": u.CompletionTokens, "total_tokens": u.PromptTokens + u.CompletionTokens,
		"prompt_tokens_details":     map[string]any{"cached_tokens": u.CachedTokens, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": u.ReasoningTokens, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
}

// stream writes the reply as chat.completion.chunk events: a role chunk,
// the content word by word, each tool call's name and then its arguments in
// two pieces, a chunk with the finish reason, the usage chunk (empty
// choices) if asked for, and [DONE].
func (s *Server) stream(w http.ResponseWriter, req Request, r Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	created := time.Now().Unix()
	send := func(choices []any, extra map[string]any) {
		chunk := map[string]any{"id": "chatcmpl-llmtest", "object": "chat.completion.chunk", "created": created, "model": r.Model, "choices": choices}
		for k, v := range extra {
			chunk[k] = v
		}
		b, _ := json.Marshal(chunk)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	delta := func(d map[string]any, finish any) []any {
		return []any{map[string]any{"index": 0, "delta": d, "finish_reason": finish}}
	}
	send(delta(map[string]any{"role": "assistant", "content": ""}, nil), nil)
	for _, piece := range splitWords(r.Content) {
		send(delta(map[string]any{"content": piece}, nil), nil)
	}
	for i, c := range r.ToolCalls {
		idx := i
		send(delta(map[string]any{"tool_calls": []any{map[string]any{"index": idx, "id": c.ID, "type": "function", "function": map[string]any{"name": c.Name, "arguments": ""}}}}, nil), nil)
		half := len(c.Arguments) / 2
		for _, part := range []string{c.Arguments[:half], c.Arguments[half:]} {
			send(delta(map[string]any{"tool_calls": []any{map[string]any{"index": idx, "function": map[string]any{"arguments": part}}}}, nil), nil)
		}
	}
	send(delta(map[string]any{}, r.FinishReason), nil)
	if req.IncludeUsage {
		send([]any{}, map[string]any{"usage": usage(r.Usage)})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}

// splitWords splits s after each space, keeping the spaces.
func splitWords(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func writeError(w http.ResponseWriter, status int, msg, typ, code string) {
	var c any
	if code != "" {
		c = code
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
