package llmtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentscope/agentscope/runtime/llmtest"
)

// TestStreamWireFormat reads a streamed reply off the wire: data: lines of
// chat.completion.chunk objects, the usage alone in the last chunk (empty
// choices), then data: [DONE].
func TestStreamWireFormat(t *testing.T) {
	srv := llmtest.New()
	defer srv.Close()
	srv.Script(llmtest.Reply{Content: "a b", Usage: llmtest.Usage{PromptTokens: 7, CachedTokens: 4, CompletionTokens: 2, ReasoningTokens: 1}})
	resp, err := http.Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	var datas []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			d, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				t.Fatalf("line %q is not a data line", line)
			}
			datas = append(datas, d)
		}
	}
	if datas[len(datas)-1] != "[DONE]" {
		t.Fatalf("last event %q", datas[len(datas)-1])
	}
	var last struct {
		Object  string `json:"object"`
		Choices []any  `json:"choices"`
		Usage   struct {
			PromptTokens        int `json:"prompt_tokens"`
			PromptTokensDetails struct {
				CachedTokens int `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
			CompletionTokensDetails struct {
				ReasoningTokens int `json:"reasoning_tokens"`
			} `json:"completion_tokens_details"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(datas[len(datas)-2]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Object != "chat.completion.chunk" || len(last.Choices) != 0 || last.Usage.PromptTokens != 7 || last.Usage.PromptTokensDetails.CachedTokens != 4 || last.Usage.CompletionTokensDetails.ReasoningTokens != 1 {
		t.Errorf("usage chunk %s", datas[len(datas)-2])
	}
}

// TestOpenAIClient checks the server against the go-openai client: a
// non-streamed tool call, a streamed answer, and an error body.
func TestOpenAIClient(t *testing.T) {
	srv := llmtest.New()
	defer srv.Close()
	srv.APIKey = "k"
	cfg := openai.DefaultConfig("k")
	cfg.BaseURL = srv.URL
	c := openai.NewClientWithConfig(cfg)
	ctx := context.Background()
	req := openai.ChatCompletionRequest{Model: "gpt-4.1", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}

	srv.Script(llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: "search", Arguments: `{"q":"x"}`}}, Usage: llmtest.Usage{PromptTokens: 3, CompletionTokens: 2}})
	res, err := c.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if tc := res.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Name != "search" || tc[0].Function.Arguments != `{"q":"x"}` || res.Choices[0].FinishReason != "tool_calls" || res.Usage.PromptTokens != 3 {
		t.Errorf("tool call reply %+v", res)
	}

	srv.Script(llmtest.Reply{Content: "one two three"})
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	stream, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		for _, ch := range chunk.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	stream.Close()
	if text.String() != "one two three" {
		t.Errorf("streamed %q", text.String())
	}

	srv.Script(llmtest.Reply{Status: 429, ErrorMessage: "Rate limit reached", ErrorType: "requests", ErrorCode: "rate_limit_exceeded"})
	_, err = c.CreateChatCompletion(ctx, req)
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 429 || apiErr.Message != "Rate limit reached" || apiErr.Code != "rate_limit_exceeded" || apiErr.Type != "requests" {
		t.Errorf("429: %#v", err)
	}

	bad := openai.DefaultConfig("wrong")
	bad.BaseURL = srv.URL
	srv.Script(llmtest.Reply{Content: "never"})
	_, err = openai.NewClientWithConfig(bad).CreateChatCompletion(ctx, req)
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Errorf("wrong key: %v", err)
	}
	if n := len(srv.Requests()); n != 4 {
		t.Errorf("%d requests recorded", n)
	}
}
