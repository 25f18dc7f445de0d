package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/agentscope/agentscope/internal/breaker"
	openai "github.com/sashabaranov/go-openai"
)

// endpoint is one resolved provider of a run: the definition's provider
// with the process defaults filled in and its key read from the
// environment.
type endpoint struct {
	name       string
	baseURL    string
	shownURL   string // baseURL without credentials, for messages
	model      string
	apiType    string
	apiVersion string
	apiKey     string // secret
	keySource  string // the environment variable(s) the key comes from, for errors
	client     *openai.Client
}

// key identifies the endpoint's circuit breaker, shared by all runs of the
// process that use the same provider.
func (e *endpoint) key() string { return breaker.Key(e.name, e.baseURL) }

// resolveEndpoints fills spec's providers with the process defaults. It
// fails, naming what is missing, when no provider has a model and a key.
func (rt *Runtime) resolveEndpoints(spec Spec) ([]*endpoint, error) {
	ps := spec.Providers
	if len(ps) == 0 {
		ps = rt.opts.Providers
	}
	if len(ps) == 0 {
		ps = []ProviderSpec{{}}
	}
	var out []*endpoint
	var problems []string
	for _, p := range ps {
		e := &endpoint{baseURL: p.BaseURL, model: p.Model, apiType: p.APIType, apiVersion: p.APIVersion}
		if e.baseURL == "" {
			e.baseURL = rt.opts.LLM.BaseURL
		}
		if e.baseURL == "" {
			e.baseURL = DefaultBaseURL
		}
		e.shownURL = withoutUserinfo(e.baseURL)
		e.name = p.Name
		if e.name == "" {
			e.name = ProviderName(e.baseURL)
		}
		if e.model == "" {
			e.model = spec.Model
		}
		if e.model == "" {
			e.model = rt.opts.LLM.Model
		}
		if e.model == "" {
			e.model = DefaultModel(e.baseURL)
		}
		if p.APIKeyEnv != "" {
			e.apiKey, e.keySource = strings.TrimSpace(rt.opts.Getenv(p.APIKeyEnv)), p.APIKeyEnv
		} else {
			e.apiKey, e.keySource = rt.opts.LLM.APIKey, "AGENTSCOPE_LLM_API_KEY (or OPENAI_API_KEY)"
		}
		switch {
		case e.model == "":
			problems = append(problems, fmt.Sprintf("provider %s (%s) has no default model: set AGENTSCOPE_LLM_MODEL (or the agent's model) to one it serves", e.name, e.shownURL))
			continue
		case e.apiKey == "":
			problems = append(problems, fmt.Sprintf("provider %s has no API key: set %s", e.name, e.keySource))
			continue
		}
		var cfg openai.ClientConfig
		if e.apiType == "azure" {
			cfg = openai.DefaultAzureConfig(e.apiKey, e.baseURL)
			if e.apiVersion != "" {
				cfg.APIVersion = e.apiVersion
			}
		} else {
			cfg = openai.DefaultConfig(e.apiKey)
			cfg.BaseURL = strings.TrimRight(e.baseURL, "/")
		}
		cfg.HTTPClient = rt.httpClient
		e.client = openai.NewClientWithConfig(cfg)
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, Permanentf("no usable LLM provider: %s", strings.Join(problems, "; "))
	}
	return out, nil
}

// withoutUserinfo drops credentials from a URL shown in messages.
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// usesMaxCompletionTokens reports whether a model takes max_completion_tokens
// (OpenAI's reasoning models refuse max_tokens); other OpenAI-compatible
// servers take max_tokens.
func usesMaxCompletionTokens(model string) bool {
	m := strings.ToLower(model)
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// chatResult is one model answer, assembled from the stream.
type chatResult struct {
	content      string
	toolCalls    []openai.ToolCall
	finishReason string
	model        string
	usage        *openai.Usage
}

// streamChat makes one streaming chat completion, passing each content
// piece to onToken, and assembles the answer. The usage comes in the last
// chunk (stream_options.include_usage).
func streamChat(ctx context.Context, e *endpoint, req openai.ChatCompletionRequest, onToken func(string)) (chatResult, error) {
	req.Stream = true
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	stream, err := e.client.CreateChatCompletionStream(ctx, req)
	if err != nil {
		return chatResult{}, err
	}
	defer stream.Close()
	var (
		res     chatResult
		content strings.Builder
		calls   []openai.ToolCall
	)
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return chatResult{}, err
		}
		if chunk.Model != "" {
			res.model = chunk.Model
		}
		if chunk.Usage != nil {
			res.usage = chunk.Usage
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue
			}
			if ch.Delta.Content != "" {
				content.WriteString(ch.Delta.Content)
				if onToken != nil {
					onToken(ch.Delta.Content)
				}
			}
			for _, tc := range ch.Delta.ToolCalls {
				i := len(calls) - 1
				if tc.Index != nil {
					i = *tc.Index
				} else if tc.ID != "" {
					i = len(calls)
				}
				if i < 0 || i > 1024 {
					return chatResult{}, fmt.Errorf("stream has a tool call with index %d", i)
				}
				for len(calls) <= i {
					calls = append(calls, openai.ToolCall{Type: openai.ToolTypeFunction})
				}
				c := &calls[i]
				if tc.ID != "" {
					c.ID = tc.ID
				}
				c.Function.Name += tc.Function.Name
				c.Function.Arguments += tc.Function.Arguments
			}
			if ch.FinishReason != "" {
				res.finishReason = string(ch.FinishReason)
			}
		}
	}
	res.content, res.toolCalls = content.String(), calls
	if res.model == "" {
		res.model = req.Model
	}
	return res, nil
}

// callError is a failed model call, classified.
type callError struct {
	transient bool
	msg       string
}

// Error implements error.
func (e *callError) Error() string { return e.msg }

// classifyCallError says whether a failed model call is worth retrying and
// describes it without secrets. ctx is the run's context: its end is not
// the provider's fault and is reported as such.
func classifyCallError(ctx context.Context, e *endpoint, err error, timeout time.Duration) *callError {
	where := fmt.Sprintf("provider %s (%s, model %s)", e.name, e.shownURL, e.model)
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	status := 0
	detail := ""
	switch {
	case ctx.Err() != nil:
		return &callError{transient: false, msg: fmt.Sprintf("%s: call interrupted: %v", where, context.Cause(ctx))}
	case errors.Is(err, context.DeadlineExceeded):
		return &callError{transient: true, msg: fmt.Sprintf("%s: no answer within the model timeout of %s", where, timeout)}
	case errors.As(err, &apiErr):
		status, detail = apiErr.HTTPStatusCode, apiErr.Message
		if apiErr.Type != "" {
			detail += " (" + apiErr.Type + ")"
		}
	case errors.As(err, &reqErr):
		status, detail = reqErr.HTTPStatusCode, http.StatusText(reqErr.HTTPStatusCode)
		if reqErr.Err != nil {
			detail = reqErr.Err.Error()
		}
	default:
		var netErr net.Error
		if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection") {
			return &callError{transient: true, msg: fmt.Sprintf("%s is unreachable: %s", where, redact(err.Error(), e.apiKey))}
		}
		return &callError{transient: true, msg: fmt.Sprintf("%s: %s", where, redact(err.Error(), e.apiKey))}
	}
	transient := status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500 || status == 0
	msg := fmt.Sprintf("%s answered %d: %s", where, status, redact(detail, e.apiKey))
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		msg += fmt.Sprintf(" (check the key in %s)", e.keySource)
	}
	return &callError{transient: transient, msg: msg}
}

// keyPattern matches API-key-looking tokens that providers echo back in
// error messages ("Incorrect API key provided: sk-abc…xyz").
var keyPattern = regexp.MustCompile(`\b(sk|sk-ant|sk-proj|key|pk)[-_][A-Za-z0-9_*.\-]{5,}[A-Za-z0-9*]`)

// redact removes the key and anything that looks like a key from s.
func redact(s, key string) string {
	if key != "" {
		s = strings.ReplaceAll(s, key, "[redacted]")
	}
	return keyPattern.ReplaceAllString(s, "[redacted]")
}

// toolDefinition converts an MCP tool's name, description and input
// schema into an OpenAI function definition.
func toolDefinition(name, description string, schema any) openai.Tool {
	params := json.RawMessage(`{"type":"object"}`)
	if schema != nil {
		if b, err := json.Marshal(schema); err == nil && len(b) > 2 {
			params = b
		}
	}
	return openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: name, Description: description, Parameters: params}}
}
