package gateway_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/internal/ratelimit"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// openAIError and anthropicError are the providers' error bodies.
type openAIError struct {
	Error struct{ Message, Type, Code string }
}

type anthropicError struct {
	Type  string
	Error struct{ Type, Message string }
}

// TestAuthErrorsInProviderShape: a bad AgentScope key and a caller over
// its rate limit are answered on the gateway's routes in the provider's
// error shape — what the SDKs read as AuthenticationError and
// RateLimitError — not in AgentScope's own, and nothing is forwarded.
func TestAuthErrorsInProviderShape(t *testing.T) {
	f := setup(t, nil)
	f.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "ok"} })
	resp, body := f.post(t, "/v1/chat/completions", `{}`, map[string]string{"Authorization": "Bearer as-unknown"})
	var oe openAIError
	if err := json.Unmarshal(body, &oe); err != nil || resp.StatusCode != 401 || oe.Error.Type != "invalid_request_error" || oe.Error.Code != "invalid_api_key" || oe.Error.Message == "" ||
		resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("OpenAI route, unknown key: %d %s", resp.StatusCode, body)
	}
	resp, body = f.post(t, "/v1/messages", `{}`, map[string]string{"x-api-key": "as-unknown", "anthropic-version": "2023-06-01"})
	var ae anthropicError
	if err := json.Unmarshal(body, &ae); err != nil || resp.StatusCode != 401 || ae.Type != "error" || ae.Error.Type != "authentication_error" || ae.Error.Message == "" {
		t.Fatalf("Anthropic route, unknown key: %d %s", resp.StatusCode, body)
	}
	if len(f.llm.Requests()) != 0 {
		t.Fatal("a call without a valid key reached the provider")
	}
}

// TestRateLimitInProviderShape: a caller over its rate limit is answered
// 429 in the provider shape with Retry-After, and nothing is forwarded.
func TestRateLimitInProviderShape(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	defer rec.Close()
	svc := service.New(rec, service.Options{Agents: st})
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "ok"} })
	gw := gateway.New(svc, gateway.Options{Upstreams: []gateway.Upstream{{Name: "openai", API: gateway.OpenAI, BaseURL: llm.URL, APIKey: "k"}, {Name: "anthropic", API: gateway.Anthropic, BaseURL: llm.URL, APIKey: "k"}}})
	defer gw.Close()
	srv := httptest.NewServer(web.New(svc, web.Options{Auth: keyAuth{"Bearer as-ingest-a": ingestA}, Gateway: gw, LivePoll: time.Hour,
		RateLimits: web.RateLimits{Callers: ratelimit.Limit{Rate: 0.001, Burst: 1}}}))
	defer srv.Close()
	f := &fixture{url: srv.URL, llm: llm, gw: gw, svc: svc}
	h := map[string]string{"Authorization": "Bearer as-ingest-a"}
	if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, h); resp.StatusCode != 200 {
		t.Fatalf("first call: %d %s", resp.StatusCode, body)
	}
	resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, h)
	var oe openAIError
	if err := json.Unmarshal(body, &oe); err != nil || resp.StatusCode != 429 || oe.Error.Code != "rate_limit_exceeded" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("OpenAI route over the rate limit: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	h["anthropic-version"] = "2023-06-01"
	resp, body = f.post(t, "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}`, h)
	var ae anthropicError
	if err := json.Unmarshal(body, &ae); err != nil || resp.StatusCode != 429 || ae.Type != "error" || ae.Error.Type != "rate_limit_error" {
		t.Fatalf("Anthropic route over the rate limit: %d %s", resp.StatusCode, body)
	}
	if n := len(llm.Requests()); n != 1 {
		t.Fatalf("%d calls reached the provider, want 1", n)
	}
}
