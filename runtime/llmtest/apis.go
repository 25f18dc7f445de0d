package llmtest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"
)

// The server also speaks, to their contracts and from the same script:
//   - Anthropic's Messages API (POST /v1/messages, key in x-api-key):
//     the message object with text and tool_use content blocks and its
//     usage (input_tokens without the cached ones,
//     cache_read_input_tokens, cache_creation_input_tokens,
//     output_tokens), and with "stream": true the event sequence
//     message_start, content_block_start / ping / content_block_delta
//     (text_delta, input_json_delta) / content_block_stop, message_delta
//     (stop_reason, output usage), message_stop; errors as
//     {"type":"error","error":{"type","message"}}.
//   - OpenAI's Responses API (POST /v1/responses): the response object
//     with message and function_call output items, and streamed as
//     named events (response.created, response.output_text.delta, …,
//     response.completed carrying the whole response).
//   - OpenAI's Embeddings API (POST /v1/embeddings): a vector (as floats,
//     or base64 little-endian float32s with "encoding_format": "base64")
//     and its usage.

type looseRequest struct {
	Model          string `json:"model"`
	Stream         bool   `json:"stream"`
	EncodingFormat string `json:"encoding_format"`
}

func (s *Server) readLoose(w http.ResponseWriter, r *http.Request, anthropic bool) (Request, bool) {
	var lr looseRequest
	if err := json.NewDecoder(r.Body).Decode(&lr); err != nil {
		if anthropic {
			writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "could not parse the JSON body of your request")
		} else {
			writeError(w, http.StatusBadRequest, "could not parse the JSON body of your request", "invalid_request_error", "")
		}
		return Request{}, false
	}
	return Request{Model: lr.Model, Stream: lr.Stream, EncodingFormat: lr.EncodingFormat, Authorization: r.Header.Get("Authorization"), APIKey: r.Header.Get("X-Api-Key"), Path: r.URL.Path}, true
}

func (s *Server) serveMessages(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readLoose(w, r, true)
	if !ok {
		return
	}
	reply, ok := s.take(w, r, req, func(status int, msg string) {
		writeAnthropicError(w, status, "authentication_error", "invalid x-api-key")
	})
	if !ok {
		return
	}
	if reply.Status != 0 {
		typ := reply.ErrorType
		if typ == "" {
			typ = "api_error"
		}
		writeAnthropicError(w, reply.Status, typ, reply.ErrorMessage)
		return
	}
	if reply.FinishReason == "" {
		reply.FinishReason = "end_turn"
		if len(reply.ToolCalls) > 0 {
			reply.FinishReason = "tool_use"
		}
	}
	for i := range reply.ToolCalls {
		if reply.ToolCalls[i].ID == "" {
			reply.ToolCalls[i].ID = fmt.Sprintf("toolu_%02d", i+1)
		}
	}
	u := reply.Usage
	inputUsage := map[string]any{"input_tokens": u.PromptTokens - u.CachedTokens - u.CacheWriteTokens,
		"cache_creation_input_tokens": u.CacheWriteTokens, "cache_read_input_tokens": u.CachedTokens}
	if !req.Stream {
		var content []any
		if reply.Content != "" {
			content = append(content, map[string]any{"type": "text", "text": reply.Content})
		}
		for _, c := range reply.ToolCalls {
			content = append(content, map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": json.RawMessage(c.Arguments)})
		}
		usage := map[string]any{"output_tokens": u.CompletionTokens}
		for k, v := range inputUsage {
			usage[k] = v
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": "msg_llmtest", "type": "message", "role": "assistant", "model": reply.Model,
			"content": content, "stop_reason": reply.FinishReason, "stop_sequence": nil, "usage": usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	send := func(event string, v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if fl != nil {
			fl.Flush()
		}
	}
	startUsage := map[string]any{"output_tokens": 1}
	for k, v := range inputUsage {
		startUsage[k] = v
	}
	send("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_llmtest", "type": "message", "role": "assistant",
		"content": []any{}, "model": reply.Model, "stop_reason": nil, "stop_sequence": nil, "usage": startUsage}})
	idx := 0
	if reply.Content != "" {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": idx, "content_block": map[string]any{"type": "text", "text": ""}})
		send("ping", map[string]any{"type": "ping"})
		for _, piece := range splitWords(reply.Content) {
			send("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "text_delta", "text": piece}})
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx})
		idx++
	}
	for _, c := range reply.ToolCalls {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": idx, "content_block": map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": map[string]any{}}})
		half := len(c.Arguments) / 2
		for _, part := range []string{c.Arguments[:half], c.Arguments[half:]} {
			send("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "input_json_delta", "partial_json": part}})
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx})
		idx++
	}
	send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": reply.FinishReason, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": u.CompletionTokens}})
	send("message_stop", map[string]any{"type": "message_stop"})
}

func writeAnthropicError(w http.ResponseWriter, status int, typ, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
}

// openAIReply reads an OpenAI request and picks its reply; false when it
// was answered already (a bad body, a wrong key, a scripted error).
func (s *Server) openAIReply(w http.ResponseWriter, r *http.Request) (Request, Reply, bool) {
	req, ok := s.readLoose(w, r, false)
	if !ok {
		return req, Reply{}, false
	}
	reply, ok := s.take(w, r, req, func(status int, msg string) {
		writeError(w, status, msg, "invalid_request_error", "invalid_api_key")
	})
	if ok && reply.Status != 0 {
		writeError(w, reply.Status, reply.ErrorMessage, reply.ErrorType, reply.ErrorCode)
		ok = false
	}
	return req, reply, ok
}

func (s *Server) serveResponses(w http.ResponseWriter, r *http.Request) {
	req, reply, ok := s.openAIReply(w, r)
	if !ok {
		return
	}
	created := time.Now().Unix()
	var output []any
	if reply.Content != "" {
		output = append(output, map[string]any{"type": "message", "id": "msg_llmtest", "status": "completed", "role": "assistant",
			"content": []any{map[string]any{"type": "output_text", "text": reply.Content, "annotations": []any{}}}})
	}
	for i, c := range reply.ToolCalls {
		id := c.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", i+1)
		}
		output = append(output, map[string]any{"type": "function_call", "id": fmt.Sprintf("fc_%d", i+1), "call_id": id, "name": c.Name, "arguments": c.Arguments, "status": "completed"})
	}
	u := reply.Usage
	resp := func(status string, out []any, usage any) map[string]any {
		if out == nil {
			out = []any{}
		}
		return map[string]any{"id": "resp_llmtest", "object": "response", "created_at": created, "status": status, "model": reply.Model,
			"output": out, "usage": usage}
	}
	usage := map[string]any{"input_tokens": u.PromptTokens, "input_tokens_details": map[string]any{"cached_tokens": u.CachedTokens},
		"output_tokens": u.CompletionTokens, "output_tokens_details": map[string]any{"reasoning_tokens": u.ReasoningTokens}, "total_tokens": u.PromptTokens + u.CompletionTokens}
	if !req.Stream {
		writeJSON(w, http.StatusOK, resp("completed", output, usage))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	seq := 0
	send := func(typ string, fields map[string]any) {
		fields["type"], fields["sequence_number"] = typ, seq
		seq++
		b, _ := json.Marshal(fields)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
		if fl != nil {
			fl.Flush()
		}
	}
	send("response.created", map[string]any{"response": resp("in_progress", nil, nil)})
	for _, piece := range splitWords(reply.Content) {
		send("response.output_text.delta", map[string]any{"item_id": "msg_llmtest", "output_index": 0, "content_index": 0, "delta": piece})
	}
	send("response.completed", map[string]any{"response": resp("completed", output, usage)})
}

func (s *Server) serveEmbeddings(w http.ResponseWriter, r *http.Request) {
	req, reply, ok := s.openAIReply(w, r)
	if !ok {
		return
	}
	vector := []float32{0.25, -0.5, 0.125}
	var embedding any = vector
	if req.EncodingFormat == "base64" {
		// The vector's little-endian float32s, as the SDKs ask for them.
		raw := make([]byte, 0, 4*len(vector))
		for _, f := range vector {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
		}
		embedding = base64.StdEncoding.EncodeToString(raw)
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "model": reply.Model,
		"data":  []any{map[string]any{"object": "embedding", "index": 0, "embedding": embedding}},
		"usage": map[string]any{"prompt_tokens": reply.Usage.PromptTokens, "total_tokens": reply.Usage.PromptTokens}})
}
