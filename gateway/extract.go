package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The APIs the gateway passes through.
const (
	apiChat       = "chat.completions" // OpenAI POST /v1/chat/completions
	apiResponses  = "responses"        // OpenAI POST /v1/responses
	apiEmbeddings = "embeddings"       // OpenAI POST /v1/embeddings
	apiMessages   = "messages"         // Anthropic POST /v1/messages
)

// maxRecordedText bounds the answer text kept in ModelCompleted.output, and
// maxRecordedInput the request input kept in ModelInvoked.input.
const (
	maxRecordedText  = 64 << 10
	maxRecordedInput = 64 << 10
)

// callRequest is what the gateway reads of a request: enough to record it.
// The request is forwarded as it came, never re-encoded.
type callRequest struct {
	model  string
	stream bool
	// input is the conversation (messages, or the responses API's input),
	// as the client sent it; nil when larger than maxRecordedInput, and
	// then inputOmitted is its size in bytes.
	input        json.RawMessage
	inputOmitted int
	// results are the tool results the request carries, in order.
	results []toolResult
}

// toolResult is the result of a tool call, sent back to the model.
type toolResult struct {
	callID  string
	content json.RawMessage
	isError bool
}

// usage is a call's token counts, normalised: in is the full input, cache
// reads and writes included (as pricing.Usage and tokens_in count it).
type usage struct {
	in, out, cacheRead, cacheWrite, reasoning int64
}

// toolCall is a tool call the model asks for.
type toolCall struct {
	id, name string
	args     json.RawMessage
}

// callResult is what the gateway reads of an answer.
type callResult struct {
	model  string
	finish string
	usage  *usage
	text   strings.Builder
	calls  []toolCall
	// errMsg is the provider's error message, when it answered one.
	errMsg string
}

func (r *callResult) addText(s string) {
	if room := maxRecordedText - r.text.Len(); room > 0 {
		r.text.WriteString(s[:min(len(s), room)])
	}
}

// parseRequest reads a request body of api. A body that is not the JSON
// the API takes is still forwarded (the provider answers it); what could
// not be read is simply not recorded.
func parseRequest(api string, body []byte) callRequest {
	var in struct {
		Model    string          `json:"model"`
		Stream   bool            `json:"stream"`
		Messages json.RawMessage `json:"messages"`
		Input    json.RawMessage `json:"input"`
	}
	var req callRequest
	if json.Unmarshal(body, &in) != nil {
		return req
	}
	req.model, req.stream = in.Model, in.Stream
	conv := in.Messages
	if api == apiResponses || api == apiEmbeddings {
		conv = in.Input
	}
	if len(conv) > maxRecordedInput {
		req.inputOmitted = len(conv)
	} else if len(conv) > 0 {
		req.input = conv
	}
	switch api {
	case apiChat:
		var msgs []struct {
			Role       string          `json:"role"`
			ToolCallID string          `json:"tool_call_id"`
			Content    json.RawMessage `json:"content"`
		}
		_ = json.Unmarshal(in.Messages, &msgs)
		for _, m := range msgs {
			if m.Role == "tool" && m.ToolCallID != "" {
				req.results = append(req.results, toolResult{callID: m.ToolCallID, content: jsonOrNull(m.Content)})
			}
		}
	case apiResponses:
		var items []struct {
			Type   string          `json:"type"`
			CallID string          `json:"call_id"`
			Output json.RawMessage `json:"output"`
		}
		_ = json.Unmarshal(in.Input, &items) // a string input has none
		for _, it := range items {
			if it.Type == "function_call_output" && it.CallID != "" {
				req.results = append(req.results, toolResult{callID: it.CallID, content: jsonOrNull(it.Output)})
			}
		}
	case apiMessages:
		var msgs []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		_ = json.Unmarshal(in.Messages, &msgs)
		for _, m := range msgs {
			if m.Role != "user" || len(m.Content) == 0 || m.Content[0] != '[' {
				continue
			}
			var blocks []struct {
				Type      string          `json:"type"`
				ToolUseID string          `json:"tool_use_id"`
				Content   json.RawMessage `json:"content"`
				IsError   bool            `json:"is_error"`
			}
			_ = json.Unmarshal(m.Content, &blocks)
			for _, b := range blocks {
				if b.Type == "tool_result" && b.ToolUseID != "" {
					req.results = append(req.results, toolResult{callID: b.ToolUseID, content: jsonOrNull(b.Content), isError: b.IsError})
				}
			}
		}
	}
	return req
}

// jsonOrNull is raw, or null when it is empty.
func jsonOrNull(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// argsJSON is a tool call's arguments as JSON: OpenAI sends them as a
// string holding JSON, which is kept as JSON when it is, and as the string
// otherwise.
func argsJSON(s string) json.RawMessage {
	s = strings.TrimSpace(s)
	if s == "" {
		return json.RawMessage("{}")
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

// The wire shapes of the answers, as far as the gateway reads them.
type (
	openAIUsage struct {
		PromptTokens        int64 `json:"prompt_tokens"`
		CompletionTokens    int64 `json:"completion_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int64 `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails *struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	}
	responsesUsage struct {
		InputTokens        int64 `json:"input_tokens"`
		OutputTokens       int64 `json:"output_tokens"`
		InputTokensDetails *struct {
			CachedTokens int64 `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokensDetails *struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	}
	anthropicUsage struct {
		InputTokens              *int64 `json:"input_tokens"`
		OutputTokens             *int64 `json:"output_tokens"`
		CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	}
	wireError struct {
		Message string `json:"message"`
	}
)

func (u *openAIUsage) norm() *usage {
	if u == nil {
		return nil
	}
	n := &usage{in: u.PromptTokens, out: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		n.cacheRead = min(d.CachedTokens, n.in)
	}
	if d := u.CompletionTokensDetails; d != nil {
		n.reasoning = d.ReasoningTokens
	}
	return n
}

func (u *responsesUsage) norm() *usage {
	if u == nil {
		return nil
	}
	n := &usage{in: u.InputTokens, out: u.OutputTokens}
	if d := u.InputTokensDetails; d != nil {
		n.cacheRead = min(d.CachedTokens, n.in)
	}
	if d := u.OutputTokensDetails; d != nil {
		n.reasoning = d.ReasoningTokens
	}
	return n
}

// merge adds what an Anthropic usage object says to n: message_start
// carries the input counts, message_delta the output count (and, from some
// versions, the input counts again, which are the same).
func (u *anthropicUsage) merge(n *usage) {
	if u == nil {
		return
	}
	var plain int64 = -1
	if u.InputTokens != nil {
		plain = *u.InputTokens
	}
	if u.CacheReadInputTokens != nil {
		n.cacheRead = *u.CacheReadInputTokens
	}
	if u.CacheCreationInputTokens != nil {
		n.cacheWrite = *u.CacheCreationInputTokens
	}
	if plain >= 0 {
		// Anthropic's input_tokens leaves the cached ones out; tokens_in
		// counts all of them.
		n.in = plain + n.cacheRead + n.cacheWrite
	}
	if u.OutputTokens != nil {
		n.out = *u.OutputTokens
	}
}

// chatWire is a chat completion, or a chunk of a streamed one (its
// choices carry a delta instead of a message).
type chatWire struct {
	Model   string       `json:"model"`
	Usage   *openAIUsage `json:"usage"`
	Choices []struct {
		Index        int         `json:"index"`
		Message      chatMessage `json:"message"`
		Delta        chatMessage `json:"delta"`
		FinishReason string      `json:"finish_reason"`
	} `json:"choices"`
	Error *wireError `json:"error"`
}

type chatMessage struct {
	Content   *string `json:"content"`
	ToolCalls []struct {
		Index    int    `json:"index"`
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

// parseAnswer reads a whole (not streamed) answer body of api.
func parseAnswer(api string, body []byte, res *callResult) {
	switch api {
	case apiChat:
		var a chatWire
		if json.Unmarshal(body, &a) != nil {
			return
		}
		res.model, res.usage = a.Model, a.Usage.norm()
		if a.Error != nil {
			res.errMsg = a.Error.Message
		}
		for _, c := range a.Choices {
			if c.Index != 0 {
				continue
			}
			res.finish = c.FinishReason
			if c.Message.Content != nil {
				res.addText(*c.Message.Content)
			}
			for _, tc := range c.Message.ToolCalls {
				res.calls = append(res.calls, toolCall{id: tc.ID, name: tc.Function.Name, args: argsJSON(tc.Function.Arguments)})
			}
		}
	case apiResponses:
		parseResponse(body, res)
	case apiEmbeddings:
		var a struct {
			Model string       `json:"model"`
			Usage *openAIUsage `json:"usage"`
			Error *wireError   `json:"error"`
		}
		if json.Unmarshal(body, &a) != nil {
			return
		}
		res.model, res.usage = a.Model, a.Usage.norm()
		if a.Error != nil {
			res.errMsg = a.Error.Message
		}
	case apiMessages:
		var a struct {
			Model      string          `json:"model"`
			StopReason string          `json:"stop_reason"`
			Usage      *anthropicUsage `json:"usage"`
			Content    []struct {
				Type  string          `json:"type"`
				Text  string          `json:"text"`
				ID    string          `json:"id"`
				Name  string          `json:"name"`
				Input json.RawMessage `json:"input"`
			} `json:"content"`
			Error *wireError `json:"error"`
		}
		if json.Unmarshal(body, &a) != nil {
			return
		}
		res.model, res.finish = a.Model, a.StopReason
		if a.Error != nil {
			res.errMsg = a.Error.Message
		}
		if a.Usage != nil {
			res.usage = &usage{}
			a.Usage.merge(res.usage)
		}
		for _, b := range a.Content {
			switch b.Type {
			case "text":
				res.addText(b.Text)
			case "tool_use":
				res.calls = append(res.calls, toolCall{id: b.ID, name: b.Name, args: jsonOrEmpty(b.Input)})
			}
		}
	}
}

func jsonOrEmpty(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

// parseResponse reads a responses-API Response object (the answer, or the
// response of a stream's response.completed event).
func parseResponse(body []byte, res *callResult) {
	var a struct {
		Model             string          `json:"model"`
		Status            string          `json:"status"`
		Usage             *responsesUsage `json:"usage"`
		IncompleteDetails *struct {
			Reason string `json:"reason"`
		} `json:"incomplete_details"`
		Output []struct {
			Type      string `json:"type"`
			CallID    string `json:"call_id"`
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
			Content   []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		} `json:"output"`
		Error *wireError `json:"error"`
	}
	if json.Unmarshal(body, &a) != nil {
		return
	}
	res.model, res.usage, res.finish = a.Model, a.Usage.norm(), a.Status
	if a.IncompleteDetails != nil && a.IncompleteDetails.Reason != "" {
		res.finish = a.IncompleteDetails.Reason
	}
	if a.Error != nil {
		res.errMsg = a.Error.Message
	}
	for _, o := range a.Output {
		switch o.Type {
		case "message":
			for _, c := range o.Content {
				if c.Type == "output_text" {
					res.addText(c.Text)
				}
			}
		case "function_call":
			res.calls = append(res.calls, toolCall{id: o.CallID, name: o.Name, args: argsJSON(o.Arguments)})
		}
	}
}

// streamReader reads the events of a streamed answer of api into res.
type streamReader struct {
	api string
	res *callResult
	// args accumulates each streamed tool call's arguments, by index.
	args []strings.Builder
}

// maxStreamedCalls bounds the tool calls read from one stream.
const maxStreamedCalls = 1024

func (s *streamReader) call(i int) (*toolCall, *strings.Builder) {
	if i < 0 || i >= maxStreamedCalls {
		return nil, nil
	}
	for len(s.res.calls) <= i {
		s.res.calls = append(s.res.calls, toolCall{})
		s.args = append(s.args, strings.Builder{})
	}
	return &s.res.calls[i], &s.args[i]
}

// event reads one server-sent event of the stream.
func (s *streamReader) event(name string, data []byte) {
	res := s.res
	switch s.api {
	case apiChat:
		if bytes.Equal(data, []byte("[DONE]")) {
			return
		}
		var c chatWire
		if json.Unmarshal(data, &c) != nil {
			return
		}
		if c.Model != "" {
			res.model = c.Model
		}
		if c.Usage != nil {
			res.usage = c.Usage.norm()
		}
		if c.Error != nil {
			res.errMsg = c.Error.Message
		}
		for _, ch := range c.Choices {
			if ch.Index != 0 {
				continue
			}
			if ch.Delta.Content != nil {
				res.addText(*ch.Delta.Content)
			}
			for _, tc := range ch.Delta.ToolCalls {
				call, args := s.call(tc.Index)
				if call == nil {
					continue
				}
				if tc.ID != "" {
					call.id = tc.ID
				}
				call.name += tc.Function.Name
				if args.Len() < maxRecordedInput {
					args.WriteString(tc.Function.Arguments)
				}
			}
			if ch.FinishReason != "" {
				res.finish = ch.FinishReason
			}
		}
	case apiResponses:
		switch name {
		case "response.completed", "response.incomplete", "response.failed":
			var e struct {
				Response json.RawMessage `json:"response"`
			}
			if json.Unmarshal(data, &e) == nil {
				parseResponse(e.Response, res)
			}
		case "error":
			var e wireError
			if json.Unmarshal(data, &e) == nil {
				res.errMsg = e.Message
			}
		}
	case apiMessages:
		var e struct {
			Type    string `json:"type"`
			Index   int    `json:"index"`
			Message *struct {
				Model string          `json:"model"`
				Usage *anthropicUsage `json:"usage"`
			} `json:"message"`
			ContentBlock *struct {
				Type string `json:"type"`
				ID   string `json:"id"`
				Name string `json:"name"`
				Text string `json:"text"`
			} `json:"content_block"`
			Delta *struct {
				Type        string `json:"type"`
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			} `json:"delta"`
			Usage *anthropicUsage `json:"usage"`
			Error *wireError      `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil {
			return
		}
		switch e.Type {
		case "message_start":
			if e.Message != nil {
				res.model = e.Message.Model
				if e.Message.Usage != nil {
					res.usage = &usage{}
					e.Message.Usage.merge(res.usage)
				}
			}
		case "content_block_start":
			if b := e.ContentBlock; b != nil {
				switch b.Type {
				case "text":
					res.addText(b.Text)
				case "tool_use":
					if call, _ := s.call(e.Index); call != nil {
						call.id, call.name = b.ID, b.Name
					}
				}
			}
		case "content_block_delta":
			if d := e.Delta; d != nil {
				switch d.Type {
				case "text_delta":
					res.addText(d.Text)
				case "input_json_delta":
					if _, args := s.call(e.Index); args != nil && args.Len() < maxRecordedInput {
						args.WriteString(d.PartialJSON)
					}
				}
			}
		case "message_delta":
			if e.Delta != nil && e.Delta.StopReason != "" {
				res.finish = e.Delta.StopReason
			}
			if e.Usage != nil {
				if res.usage == nil {
					res.usage = &usage{}
				}
				e.Usage.merge(res.usage)
			}
		case "error":
			if e.Error != nil {
				res.errMsg = e.Error.Message
			}
		}
	}
}

// finish completes the streamed tool calls: Anthropic's content blocks are
// indexed with the text blocks among them, so the slots that are not tool
// calls are dropped.
func (s *streamReader) finish() {
	calls := s.res.calls[:0]
	for i, c := range s.res.calls {
		if c.id == "" && c.name == "" {
			continue
		}
		if c.args == nil && i < len(s.args) {
			c.args = argsJSON(s.args[i].String())
		}
		calls = append(calls, c)
	}
	s.res.calls = calls
}
