package interop

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope/pricing"
	"github.com/agentscope/agentscope/runtime/llmtest"
)

// TestGatewayOpenAINode runs interop/gateway/gateway.mjs: the official
// `openai` npm client calls `agentscope serve`'s LLM gateway with only its
// baseURL and key changed — chat completions parsed and raw, streamed and
// not, a tool call and its result, embeddings, the Responses API, and an
// agent over its hard cap. The answers must be the provider's bytes, the
// recorded tokens and costs exact, and the refusal OpenAI's
// insufficient_quota as the SDK reads it.
func TestGatewayOpenAINode(t *testing.T) {
	node := requireNode(t)
	const upstreamKey = "sk-interop-upstream-0123456789"
	llm := llmtest.New()
	defer llm.Close()
	llm.APIKey = upstreamKey
	chatUsage := llmtest.Usage{PromptTokens: 12, CompletionTokens: 5, CachedTokens: 4, ReasoningTokens: 2}
	streamUsage := llmtest.Usage{PromptTokens: 20, CompletionTokens: 9}
	respUsage := llmtest.Usage{PromptTokens: 40, CompletionTokens: 10, CachedTokens: 8, ReasoningTokens: 4}
	llm.Handle(func(r llmtest.Request) llmtest.Reply {
		switch {
		case r.Path == "/v1/embeddings":
			return llmtest.Reply{Usage: llmtest.Usage{PromptTokens: 3}}
		case r.Path == "/v1/responses":
			return llmtest.Reply{Content: "Responses answer.", Usage: respUsage}
		case len(r.ToolResults()) > 0:
			return llmtest.Reply{Content: "It is 21C.", Usage: llmtest.Usage{PromptTokens: 30, CompletionTokens: 4}}
		case strings.Contains(r.LastUser(), "stream"):
			return llmtest.Reply{Content: "Streaming words here", ToolCalls: []llmtest.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}, Usage: streamUsage}
		case r.LastUser() == "first" || r.LastUser() == "second":
			return llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 10}}
		}
		return llmtest.Reply{Content: "Hello from the provider.", Usage: chatUsage}
	})
	base := strings.TrimSuffix(serveEnv(t, t.TempDir(), t.TempDir(), "AGENTSCOPE_LLM_BASE_URL="+llm.URL, "AGENTSCOPE_LLM_API_KEY="+upstreamKey, "OPENAI_API_KEY=", "OPENAI_BASE_URL="), "/mcp")
	api := func(method, path, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
	}
	// A budget is set on an agent AgentScope knows: capped-agent has a
	// run (of no cost) before the script's calls.
	api("POST", "/api/v1/runs", `{"agent":"capped-agent","session_id":"capped-known"}`, nil)
	api("POST", "/api/v1/runs/capped-known/end", `{"status":"completed"}`, nil)
	api("PUT", "/api/v1/budgets", `{"agent":"capped-agent","period":"day","limit_usd":0.000000001,"hard_cap":true}`, nil)

	out := runNode(t, node, 120*time.Second, cleanEnv("INTEROP_BASE="+base, "INTEROP_TOKEN="+token), filepath.Join("gateway", "gateway.mjs"))
	if !strings.Contains(out, "gateway: all calls made") {
		t.Fatalf("the script did not finish:\n%s", out)
	}
	steps := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["step"] != nil {
			steps[m["step"].(string)] = m
		}
	}
	if s := steps["parsed"]; s["content"] != "Hello from the provider." {
		t.Errorf("parsed %v", s)
	}
	for _, name := range []string{"raw", "raw-stream"} {
		s := steps[name]
		body, _ := s["body"].(string)
		if s["status"] != float64(200) || body == "" || !slices.ContainsFunc(llm.Answers(), func(a []byte) bool { return string(a) == body }) {
			t.Errorf("%s: the SDK got other bytes than the provider sent: %v", name, s)
		}
	}
	if s := steps["stream"]; s["content"] != "Streaming words here" || !strings.Contains(jsonOf(s["calls"]), `"arguments":"{\"city\":\"Paris\"}"`) {
		t.Errorf("stream %v", s)
	}
	if s := steps["tool-result"]; s["content"] != "It is 21C." {
		t.Errorf("tool result %v", s)
	}
	if s := steps["embeddings"]; s["dims"] != float64(3) {
		t.Errorf("embeddings %v", s)
	}
	if s := steps["responses"]; s["text"] != "Responses answer." {
		t.Errorf("responses %v", s)
	}
	if s := steps["cap"]; s["refused"] != true || s["rateLimit"] != true || s["status"] != float64(429) || s["code"] != "insufficient_quota" || s["type"] != "insufficient_quota" ||
		!strings.Contains(s["message"].(string), "capped-agent") {
		t.Errorf("cap %v", s)
	}

	// What AgentScope recorded of the SDK's calls.
	var page struct {
		Events []struct {
			Type         string
			Model        string
			Provider     string
			Tool         string
			CallID       string          `json:"call_id"`
			TokensIn     int64           `json:"tokens_in"`
			TokensOut    int64           `json:"tokens_out"`
			CacheRead    int64           `json:"cache_read_tokens"`
			Reasoning    int64           `json:"reasoning_tokens"`
			FinishReason string          `json:"finish_reason"`
			AmountUSD    json.RawMessage `json:"amount_usd"`
			Result       json.RawMessage
		} `json:"events"`
	}
	api("GET", "/api/v1/sessions/sdk-session/events?limit=1000", "", &page)
	type call struct{ in, out, cached, reasoning int64 }
	var got []call
	var costs []string
	var tools []string
	for _, ev := range page.Events {
		switch ev.Type {
		case "ModelCompleted":
			got = append(got, call{ev.TokensIn, ev.TokensOut, ev.CacheRead, ev.Reasoning})
		case "CostRecorded":
			costs = append(costs, string(ev.AmountUSD))
		case "ToolCalled", "ToolReturned":
			tools = append(tools, ev.Type+" "+ev.Tool+" "+ev.CallID+" "+string(ev.Result))
		}
	}
	want := []call{{12, 5, 4, 2}, {12, 5, 4, 2}, {20, 9, 0, 0}, {20, 9, 0, 0}, {30, 4, 0, 0}, {3, 0, 0, 0}, {40, 10, 8, 4}}
	if !slices.Equal(got, want) {
		t.Errorf("recorded tokens %v, want %v", got, want)
	}
	table := pricing.Default()
	price := func(model string, u pricing.Usage) string {
		p, _ := table.Lookup("openai", model)
		c, err := p.Cost(u)
		if err != nil {
			t.Fatal(err)
		}
		return c.String()
	}
	chat := price("gpt-4o-mini", pricing.Usage{InputTokens: 12, OutputTokens: 5, CacheReadTokens: 4})
	streamed := price("gpt-4o-mini", pricing.Usage{InputTokens: 20, OutputTokens: 9})
	wantCosts := []string{chat, chat, streamed, streamed, price("gpt-4o-mini", pricing.Usage{InputTokens: 30, OutputTokens: 4}),
		price("text-embedding-3-small", pricing.Usage{InputTokens: 3}), price("gpt-4.1-mini", pricing.Usage{InputTokens: 40, OutputTokens: 10, CacheReadTokens: 8})}
	if !slices.Equal(costs, wantCosts) {
		t.Errorf("recorded costs %v, want %v", costs, wantCosts)
	}
	// Both streamed calls asked for get_weather; the result came back once.
	wantTools := []string{"ToolCalled get_weather call_1 ", "ToolCalled get_weather call_1 ", `ToolReturned get_weather call_1 "21C and sunny"`}
	if !slices.Equal(tools, wantTools) {
		t.Errorf("tool events %q", tools)
	}
	for _, r := range llm.Requests() {
		if r.Authorization != "Bearer "+upstreamKey {
			t.Errorf("the provider got Authorization %q", r.Authorization)
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestGatewayAnthropicNode runs interop/gateway/anthropic.mjs: the official
// Anthropic TypeScript SDK through the gateway's /v1/messages, with the
// AgentScope key as its api_key — a message parsed and raw, and one
// streamed with a tool call (the SDK assembles it from the event stream).
func TestGatewayAnthropicNode(t *testing.T) {
	node := requireNode(t)
	const upstreamKey = "sk-ant-interop-upstream-0123456789"
	llm := llmtest.New()
	defer llm.Close()
	llm.APIKey = upstreamKey
	u := llmtest.Usage{PromptTokens: 100, CompletionTokens: 20, CachedTokens: 60, CacheWriteTokens: 30}
	llm.Handle(func(r llmtest.Request) llmtest.Reply {
		if r.Stream {
			return llmtest.Reply{Content: "Let me look.", ToolCalls: []llmtest.ToolCall{{ID: "toolu_01", Name: "lookup", Arguments: `{"order":"A-1"}`}}, Usage: u}
		}
		return llmtest.Reply{Content: "Hello from Claude.", Usage: u}
	})
	base := strings.TrimSuffix(serveEnv(t, t.TempDir(), t.TempDir(), "AGENTSCOPE_ANTHROPIC_API_KEY="+upstreamKey, "AGENTSCOPE_ANTHROPIC_BASE_URL="+llm.URL, "ANTHROPIC_API_KEY=", "OPENAI_API_KEY="), "/mcp")
	out := runNode(t, node, 120*time.Second, cleanEnv("INTEROP_BASE="+base, "INTEROP_TOKEN="+token), filepath.Join("gateway", "anthropic.mjs"))
	if !strings.Contains(out, "anthropic: all calls made") {
		t.Fatalf("the script did not finish:\n%s", out)
	}
	steps := map[string]map[string]any{}
	for _, line := range strings.Split(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["step"] != nil {
			steps[m["step"].(string)] = m
		}
	}
	if s := steps["parsed"]; s["text"] != "Hello from Claude." || s["stop"] != "end_turn" {
		t.Errorf("parsed %v", s)
	}
	if s := steps["raw"]; s["status"] != float64(200) || !slices.ContainsFunc(llm.Answers(), func(a []byte) bool { return string(a) == s["body"] }) {
		t.Errorf("raw: the SDK got other bytes than the provider sent: %v", s)
	}
	if s := steps["stream"]; s["text"] != "Let me look." || s["stop"] != "tool_use" || jsonOf(s["tools"]) != `[{"id":"toolu_01","input":{"order":"A-1"},"name":"lookup"}]` {
		t.Errorf("stream %v", s)
	}
	for _, r := range llm.Requests() {
		if r.APIKey != upstreamKey || r.Authorization != "" {
			t.Errorf("the provider got x-api-key %q, Authorization %q", r.APIKey, r.Authorization)
		}
	}

	var page struct {
		Events []struct {
			Type       string
			Tool       string
			CallID     string          `json:"call_id"`
			TokensIn   int64           `json:"tokens_in"`
			TokensOut  int64           `json:"tokens_out"`
			CacheRead  int64           `json:"cache_read_tokens"`
			CacheWrite int64           `json:"cache_write_tokens"`
			AmountUSD  json.RawMessage `json:"amount_usd"`
			Arguments  json.RawMessage
		} `json:"events"`
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/sessions/anthropic-session/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	p, _ := pricing.Default().Lookup("anthropic", "claude-sonnet-4-5")
	want, err := p.Cost(pricing.Usage{InputTokens: 100, OutputTokens: 20, CacheReadTokens: 60, CacheWriteTokens: 30})
	if err != nil {
		t.Fatal(err)
	}
	var calls, costs, tools int
	for _, ev := range page.Events {
		switch ev.Type {
		case "ModelCompleted":
			calls++
			if ev.TokensIn != 100 || ev.TokensOut != 20 || ev.CacheRead != 60 || ev.CacheWrite != 30 {
				t.Errorf("ModelCompleted %+v", ev)
			}
		case "CostRecorded":
			costs++
			if string(ev.AmountUSD) != want.String() {
				t.Errorf("cost %s, want %s", ev.AmountUSD, want)
			}
		case "ToolCalled":
			tools++
			if ev.Tool != "lookup" || ev.CallID != "toolu_01" || string(ev.Arguments) != `{"order":"A-1"}` {
				t.Errorf("ToolCalled %+v", ev)
			}
		}
	}
	if calls != 3 || costs != 3 || tools != 1 {
		t.Errorf("%d calls, %d costs, %d tool calls recorded, want 3, 3, 1", calls, costs, tools)
	}
}
