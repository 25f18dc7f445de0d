package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/internal/breaker"
	"github.com/agentscope/agentscope/pricing"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

const upstreamKey = "sk-upstream-secret-0123456789"

// keyAuth signs in each Authorization header as its principal.
type keyAuth map[string]agentscope.Principal

func (k keyAuth) AuthenticateHeader(_ context.Context, header string) (agentscope.Principal, error) {
	if p, ok := k[header]; ok {
		return p, nil
	}
	return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "invalid token")
}

var (
	ingestA = agentscope.Principal{Kind: agentscope.PrincipalKey, OrgID: "org-a", KeyID: "k1", Scopes: []agentscope.Scope{agentscope.ScopeIngest}}
	readA   = agentscope.Principal{Kind: agentscope.PrincipalKey, OrgID: "org-a", KeyID: "k2", Scopes: []agentscope.Scope{agentscope.ScopeRead}}
	ownerA  = agentscope.Principal{Kind: agentscope.PrincipalInstance, OrgID: "org-a", Role: agentscope.RoleOwner}
)

// lastAnswer is the body the test provider answered last.
func (f *fixture) lastAnswer() []byte {
	a := f.llm.Answers()
	return a[len(a)-1]
}

type fixture struct {
	// auth signs in the callers; a test may add its own before its calls.
	auth keyAuth
	url  string
	llm  *llmtest.Server
	gw   *gateway.Gateway
	svc  *service.Service
}

// testStore is what the fixture needs of a store.
type testStore interface {
	agentscope.Store
	service.AgentStore
	Close() error
}

func setup(t *testing.T, mod func(*gateway.Options)) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return setupOn(t, st, service.Options{Agents: st}, mod)
}

// setupOn is setup on st, with the service's options svcOpts.
func setupOn(t *testing.T, st testStore, svcOpts service.Options, mod func(*gateway.Options)) *fixture {
	t.Helper()
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	svc := service.New(rec, svcOpts)
	llm := llmtest.New()
	llm.APIKey = upstreamKey
	opts := gateway.Options{
		Upstreams: []gateway.Upstream{
			{Name: "openai", API: gateway.OpenAI, BaseURL: llm.URL, APIKey: upstreamKey},
			{Name: "anthropic", API: gateway.Anthropic, BaseURL: llm.URL, APIKey: upstreamKey},
		},
		OpenAIBaseURL: llm.URL, AnthropicBaseURL: llm.URL,
	}
	if mod != nil {
		mod(&opts)
	}
	gw := gateway.New(svc, opts)
	auth := keyAuth{"Bearer as-ingest-a": ingestA, "Bearer as-read-a": readA, "Bearer as-owner-a": ownerA}
	srv := httptest.NewServer(web.New(svc, web.Options{Auth: auth, Gateway: gw, LivePoll: time.Hour}))
	t.Cleanup(func() {
		srv.Close()
		gw.Close()
		llm.Close()
		rec.Close()
		st.Close()
	})
	return &fixture{auth: auth, url: srv.URL, llm: llm, gw: gw, svc: svc}
}

// post sends body to path through the gateway with headers.
func (f *fixture) post(t *testing.T, path, body string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// events returns the session's events once the gateway has recorded what
// it queued.
func (f *fixture) events(t *testing.T, sessionID string) []agentscope.Event {
	t.Helper()
	return f.eventsOf(t, ownerA, sessionID)
}

// eventsOf is events, read as owner.
func (f *fixture) eventsOf(t *testing.T, owner agentscope.Principal, sessionID string) []agentscope.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.gw.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := f.svc.ListEvents(agentscope.WithPrincipal(ctx, owner), sessionID, agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func byType(evs []agentscope.Event, typ agentscope.EventType) []agentscope.Event {
	var out []agentscope.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func one(t *testing.T, evs []agentscope.Event, typ agentscope.EventType) agentscope.Event {
	t.Helper()
	got := byType(evs, typ)
	if len(got) != 1 {
		t.Fatalf("want one %s, got %d in %s", typ, len(got), types(evs))
	}
	return got[0]
}

func types(evs []agentscope.Event) string {
	var s []string
	for _, ev := range evs {
		s = append(s, string(ev.Type))
	}
	return strings.Join(s, ",")
}

func i64(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// cost is the table's price of usage for model, computed here
// independently of the gateway.
func cost(t *testing.T, provider, model string, u pricing.Usage) string {
	t.Helper()
	p, ok := pricing.Default().Lookup(provider, model)
	if !ok {
		t.Fatalf("no price for %s", model)
	}
	c, err := p.Cost(u)
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

func session(id, agent string) map[string]string {
	return map[string]string{"Authorization": "Bearer as-ingest-a", gateway.HeaderSessionID: id, gateway.HeaderAgent: agent}
}

func TestChatCompletionsPassThroughAndRecord(t *testing.T) {
	f := setup(t, nil)
	f.llm.Script(llmtest.Reply{Content: "Paris is the capital.", Usage: llmtest.Usage{PromptTokens: 12, CompletionTokens: 5, CachedTokens: 4, ReasoningTokens: 2}})
	resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"capital of France?"}]}`, session("chat-1", "support-bot"))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if !bytes.Equal(body, f.lastAnswer()) {
		t.Fatalf("client got other bytes than the provider sent:\n%s\n%s", body, f.lastAnswer())
	}
	reqs := f.llm.Requests()
	if reqs[0].Authorization != "Bearer "+upstreamKey {
		t.Fatalf("upstream got Authorization %q, want the configured key", reqs[0].Authorization)
	}
	evs := f.events(t, "chat-1")
	if types(evs) != "SessionStarted,ModelInvoked,ModelCompleted,CostRecorded" {
		t.Fatalf("events %s", types(evs))
	}
	start := one(t, evs, agentscope.SessionStarted)
	if start.Agent != "support-bot" {
		t.Fatalf("session agent %q", start.Agent)
	}
	inv := one(t, evs, agentscope.ModelInvoked)
	if inv.Model != "gpt-4o-mini" || inv.Provider != "openai" || !strings.Contains(string(inv.Input), "capital of France?") {
		t.Fatalf("ModelInvoked %+v", inv)
	}
	mc := one(t, evs, agentscope.ModelCompleted)
	if i64(mc.TokensIn) != 12 || i64(mc.TokensOut) != 5 || i64(mc.CacheReadTokens) != 4 || i64(mc.ReasoningTokens) != 2 || mc.FinishReason != "stop" || mc.DurationMS == nil || mc.SpanID != inv.SpanID {
		t.Fatalf("ModelCompleted %+v", mc)
	}
	if string(mc.Output) != `"Paris is the capital."` {
		t.Fatalf("output %s", mc.Output)
	}
	c := one(t, evs, agentscope.CostRecorded)
	if want := cost(t, "openai", "gpt-4o-mini", pricing.Usage{InputTokens: 12, OutputTokens: 5, CacheReadTokens: 4}); c.AmountUSD.String() != want || c.SpanID != inv.SpanID {
		t.Fatalf("cost %s, want %s", c.AmountUSD, want)
	}
}

// readEvents reads SSE events from r, sending each (its lines) as it is
// read.
func readEvents(r io.Reader, out chan<- string) {
	defer close(out)
	sc := bufio.NewScanner(r)
	var ev strings.Builder
	for sc.Scan() {
		if sc.Text() == "" {
			out <- ev.String()
			ev.Reset()
			continue
		}
		ev.WriteString(sc.Text() + "\n")
	}
}

func TestChatCompletionsStreamFlushedAndRecorded(t *testing.T) {
	f := setup(t, nil)
	f.llm.Script(llmtest.Reply{Content: "one two three", ToolCalls: []llmtest.ToolCall{{ID: "call_w", Name: "weather", Arguments: `{"city":"Paris"}`}},
		Usage: llmtest.Usage{PromptTokens: 20, CompletionTokens: 9, CachedTokens: 0, ReasoningTokens: 3}})
	resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, session("stream-1", "bot"))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if !bytes.Equal(body, f.lastAnswer()) {
		t.Fatalf("stream altered:\n%s\n---\n%s", body, f.lastAnswer())
	}
	evs := f.events(t, "stream-1")
	mc := one(t, evs, agentscope.ModelCompleted)
	if i64(mc.TokensIn) != 20 || i64(mc.TokensOut) != 9 || i64(mc.ReasoningTokens) != 3 || mc.FinishReason != "tool_calls" || string(mc.Output) != `"one two three"` {
		t.Fatalf("ModelCompleted %+v", mc)
	}
	tc := one(t, evs, agentscope.ToolCalled)
	if tc.Tool != "weather" || tc.CallID != "call_w" || string(tc.Arguments) != `{"city":"Paris"}` {
		t.Fatalf("ToolCalled %+v", tc)
	}
	one(t, evs, agentscope.CostRecorded)

	// The next request carries the tool's result: ToolReturned, once.
	f.llm.Script(llmtest.Reply{Content: "Sunny.", Usage: llmtest.Usage{PromptTokens: 30, CompletionTokens: 2}}, llmtest.Reply{Content: "Bye.", Usage: llmtest.Usage{PromptTokens: 35, CompletionTokens: 2}})
	next := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_w","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_w","content":"sunny, 21C"}]}`
	for range 2 {
		if resp, body := f.post(t, "/v1/chat/completions", next, session("stream-1", "bot")); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}
	evs = f.events(t, "stream-1")
	tr := one(t, evs, agentscope.ToolReturned)
	if tr.CallID != "call_w" || tr.Tool != "weather" || string(tr.Result) != `"sunny, 21C"` || tr.Status != "ok" || tr.DurationMS == nil {
		t.Fatalf("ToolReturned %+v", tr)
	}
}

// TestStreamFlushedAsItArrives holds the provider's stream after its first
// event: the client must have that event before the provider goes on.
func TestStreamFlushedAsItArrives(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"first"}}]}`+"\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`+"\n\ndata: [DONE]\n\n")
	}))
	defer upstream.Close()
	f := setup(t, func(o *gateway.Options) {
		o.Upstreams = []gateway.Upstream{{Name: "openai", API: gateway.OpenAI, BaseURL: upstream.URL + "/v1", APIKey: "k"}}
	})
	req, _ := http.NewRequest("POST", f.url+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[]}`))
	req.Header.Set("Authorization", "Bearer as-ingest-a")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs := make(chan string, 8)
	go readEvents(resp.Body, evs)
	if first := <-evs; !strings.Contains(first, `"first"`) {
		t.Fatalf("first event %q", first)
	}
	close(release)
	var rest []string
	for ev := range evs {
		rest = append(rest, ev)
	}
	if len(rest) != 2 || rest[1] != "data: [DONE]\n" {
		t.Fatalf("rest of the stream %q", rest)
	}
}

func TestAnthropicMessages(t *testing.T) {
	f := setup(t, nil)
	u := llmtest.Usage{PromptTokens: 100, CompletionTokens: 20, CachedTokens: 60, CacheWriteTokens: 30}
	f.llm.Script(
		llmtest.Reply{Content: "Hello there.", ToolCalls: []llmtest.ToolCall{{Name: "lookup", Arguments: `{"q":"x"}`}}, Usage: u},
		llmtest.Reply{Content: "Streamed answer here.", ToolCalls: []llmtest.ToolCall{{ID: "toolu_s", Name: "search", Arguments: `{"q":"y"}`}}, Usage: u},
	)
	h := map[string]string{"Authorization": "Bearer as-ingest-a", "anthropic-version": "2023-06-01", gateway.HeaderSessionID: "anth-1", gateway.HeaderAgent: "claude-bot"}
	resp, body := f.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`, h)
	if resp.StatusCode != 200 || !bytes.Equal(body, f.lastAnswer()) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	r := f.llm.Requests()[0]
	if r.APIKey != upstreamKey || r.Authorization != "" {
		t.Fatalf("upstream got x-api-key %q, Authorization %q", r.APIKey, r.Authorization)
	}
	resp, body = f.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, h)
	if resp.StatusCode != 200 || !bytes.Equal(body, f.lastAnswer()) {
		t.Fatalf("stream status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{"event: message_start", "event: content_block_delta", "event: message_delta", "event: message_stop"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("stream lacks %s", want)
		}
	}
	evs := f.events(t, "anth-1")
	mcs := byType(evs, agentscope.ModelCompleted)
	costs := byType(evs, agentscope.CostRecorded)
	calls := byType(evs, agentscope.ToolCalled)
	if len(mcs) != 2 || len(costs) != 2 || len(calls) != 2 {
		t.Fatalf("events %s", types(evs))
	}
	want := cost(t, "anthropic", "claude-sonnet-4-5", pricing.Usage{InputTokens: 100, OutputTokens: 20, CacheReadTokens: 60, CacheWriteTokens: 30})
	for i, mc := range mcs {
		if i64(mc.TokensIn) != 100 || i64(mc.TokensOut) != 20 || i64(mc.CacheReadTokens) != 60 || i64(mc.CacheWriteTokens) != 30 || mc.FinishReason != "tool_use" || mc.Provider != "anthropic" {
			t.Fatalf("ModelCompleted %d %+v", i, mc)
		}
		if costs[i].AmountUSD.String() != want {
			t.Fatalf("cost %s, want %s", costs[i].AmountUSD, want)
		}
	}
	if string(mcs[1].Output) != `"Streamed answer here."` || calls[1].Tool != "search" || calls[1].CallID != "toolu_s" || string(calls[1].Arguments) != `{"q":"y"}` {
		t.Fatalf("streamed call %+v %+v", mcs[1], calls[1])
	}
	if calls[0].CallID != "toolu_01" || string(calls[0].Arguments) != `{"q":"x"}` {
		t.Fatalf("ToolCalled %+v", calls[0])
	}
	// The tool result comes back in a user message's tool_result block.
	f.llm.Script(llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 5, CompletionTokens: 1}})
	next := `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_s","name":"search","input":{"q":"y"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_s","content":"not found","is_error":true}]}]}`
	if resp, body := f.post(t, "/v1/messages", next, h); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	tr := one(t, f.events(t, "anth-1"), agentscope.ToolReturned)
	if tr.CallID != "toolu_s" || tr.Status != "error" || string(tr.Result) != `"not found"` {
		t.Fatalf("ToolReturned %+v", tr)
	}
}

func TestResponsesAndEmbeddings(t *testing.T) {
	f := setup(t, nil)
	u := llmtest.Usage{PromptTokens: 40, CompletionTokens: 10, CachedTokens: 8, ReasoningTokens: 4}
	f.llm.Script(
		llmtest.Reply{Content: "Answer.", ToolCalls: []llmtest.ToolCall{{ID: "call_r", Name: "fetch", Arguments: `{"url":"u"}`}}, Usage: u},
		llmtest.Reply{Content: "Streamed.", Usage: u},
		llmtest.Reply{Usage: llmtest.Usage{PromptTokens: 7}},
	)
	h := session("resp-1", "agents-sdk")
	for _, body := range []string{`{"model":"gpt-4.1-mini","input":"hi"}`, `{"model":"gpt-4.1-mini","stream":true,"input":[{"type":"function_call_output","call_id":"call_r","output":"page"}]}`} {
		resp, got := f.post(t, "/v1/responses", body, h)
		if resp.StatusCode != 200 || !bytes.Equal(got, f.lastAnswer()) {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
	}
	resp, got := f.post(t, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hello"}`, h)
	if resp.StatusCode != 200 || !bytes.Equal(got, f.lastAnswer()) {
		t.Fatalf("embeddings status %d: %s", resp.StatusCode, got)
	}
	evs := f.events(t, "resp-1")
	mcs := byType(evs, agentscope.ModelCompleted)
	if len(mcs) != 3 {
		t.Fatalf("events %s", types(evs))
	}
	for _, mc := range mcs[:2] {
		if i64(mc.TokensIn) != 40 || i64(mc.TokensOut) != 10 || i64(mc.CacheReadTokens) != 8 || i64(mc.ReasoningTokens) != 4 || mc.FinishReason != "completed" {
			t.Fatalf("responses ModelCompleted %+v", mc)
		}
	}
	if string(mcs[1].Output) != `"Streamed."` {
		t.Fatalf("streamed output %s", mcs[1].Output)
	}
	if i64(mcs[2].TokensIn) != 7 || i64(mcs[2].TokensOut) != 0 || mcs[2].Model != "text-embedding-3-small" {
		t.Fatalf("embeddings ModelCompleted %+v", mcs[2])
	}
	tc, tr := one(t, evs, agentscope.ToolCalled), one(t, evs, agentscope.ToolReturned)
	if tc.CallID != "call_r" || tr.CallID != "call_r" || string(tr.Result) != `"page"` {
		t.Fatalf("tool events %+v %+v", tc, tr)
	}
	if n := len(byType(evs, agentscope.CostRecorded)); n != 3 {
		t.Fatalf("%d costs", n)
	}
}

func TestHardCapRefusedInProviderShape(t *testing.T) {
	f := setup(t, nil)
	admin := agentscope.WithPrincipal(context.Background(), ownerA)
	f.llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 10}}
	})
	h := session("cap-1", "capped")
	if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, h); resp.StatusCode != 200 {
		t.Fatalf("first call: %d %s", resp.StatusCode, body)
	}
	f.events(t, "cap-1") // recorded: the agent is known, and its spend passes a $0.000000001 cap
	if _, err := f.svc.SetBudget(admin, agentscope.AgentCostBudget{Agent: "capped", Period: agentscope.PeriodDay, LimitUSD: 1, HardCap: true}); err != nil {
		t.Fatal(err)
	}
	n := len(f.llm.Requests())
	resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, h)
	var oe struct {
		Error struct{ Message, Type, Code string }
	}
	if err := json.Unmarshal(body, &oe); err != nil || resp.StatusCode != 429 || oe.Error.Type != "insufficient_quota" || oe.Error.Code != "insufficient_quota" || !strings.Contains(oe.Error.Message, "capped") {
		t.Fatalf("OpenAI refusal %d %s", resp.StatusCode, body)
	}
	if v := resp.Header.Get("X-Should-Retry"); v != "false" {
		t.Errorf("OpenAI refusal has X-Should-Retry %q: the SDKs would retry the 429", v)
	}
	h["anthropic-version"] = "2023-06-01"
	resp, body = f.post(t, "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}`, h)
	var ae struct {
		Type  string
		Error struct{ Type, Message string }
	}
	if err := json.Unmarshal(body, &ae); err != nil || resp.StatusCode != 400 || ae.Type != "error" || ae.Error.Type != "invalid_request_error" || !strings.Contains(ae.Error.Message, "budget") {
		t.Fatalf("Anthropic refusal %d %s", resp.StatusCode, body)
	}
	if v := resp.Header.Get("X-Should-Retry"); v != "false" {
		t.Errorf("Anthropic refusal has X-Should-Retry %q", v)
	}
	if len(f.llm.Requests()) != n {
		t.Fatal("a refused call reached the provider")
	}
	// Another agent of the organisation is not capped.
	if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, session("cap-2", "free")); resp.StatusCode != 200 {
		t.Fatalf("uncapped agent: %d %s", resp.StatusCode, body)
	}
}

func TestAuthAndClientKeys(t *testing.T) {
	f := setup(t, nil)
	f.llm.APIKey = "" // the client's own key reaches the provider as it is
	f.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "ok"} })
	// No AgentScope credential: 401, nothing forwarded.
	if resp, _ := f.post(t, "/v1/chat/completions", `{}`, map[string]string{"Authorization": "Bearer sk-client"}); resp.StatusCode != 401 {
		t.Fatalf("unknown key: %d", resp.StatusCode)
	}
	// A key that may not record: refused in the provider's shape.
	resp, body := f.post(t, "/v1/chat/completions", `{}`, map[string]string{"Authorization": "Bearer as-read-a"})
	if resp.StatusCode != 403 || !strings.Contains(string(body), `"type":"invalid_request_error"`) {
		t.Fatalf("read-only key: %d %s", resp.StatusCode, body)
	}
	if len(f.llm.Requests()) != 0 {
		t.Fatal("refused calls reached the provider")
	}
	// The client's own OpenAI key beside X-AgentScope-Key.
	if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, map[string]string{"Authorization": "Bearer sk-client", gateway.HeaderKey: "as-ingest-a"}); resp.StatusCode != 200 {
		t.Fatalf("own key: %d %s", resp.StatusCode, body)
	}
	// The client's own Anthropic key in x-api-key, the AgentScope key in
	// Authorization.
	if resp, body := f.post(t, "/v1/messages", `{"model":"claude-haiku-4-5","messages":[]}`, map[string]string{"Authorization": "Bearer as-ingest-a", "x-api-key": "sk-ant-client"}); resp.StatusCode != 200 {
		t.Fatalf("own Anthropic key: %d %s", resp.StatusCode, body)
	}
	// The AgentScope key as Anthropic's api_key (x-api-key alone).
	if resp, body := f.post(t, "/v1/messages", `{"model":"claude-haiku-4-5","messages":[]}`, map[string]string{"x-api-key": "as-ingest-a"}); resp.StatusCode != 200 {
		t.Fatalf("AgentScope key in x-api-key: %d %s", resp.StatusCode, body)
	}
	reqs := f.llm.Requests()
	if reqs[0].Authorization != "Bearer sk-client" || reqs[1].APIKey != "sk-ant-client" || reqs[1].Authorization != "" || reqs[2].APIKey != upstreamKey {
		t.Fatalf("upstream credentials %+v", reqs)
	}
	for _, r := range reqs {
		if strings.Contains(r.Authorization+r.APIKey, "as-ingest") {
			t.Fatal("the AgentScope key reached the provider")
		}
	}
	// Nor does it ride on an ingest key's budget check of the same agent,
	// cached for the organisation and agent (found trying it as a new
	// user: the read key's call went through within the cache's second).
	before := len(f.llm.Requests())
	agent := map[string]string{gateway.HeaderAgent: "shared-bot"}
	if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, map[string]string{"Authorization": "Bearer as-ingest-a", gateway.HeaderAgent: "shared-bot"}); resp.StatusCode != 200 {
		t.Fatalf("ingest key: %d %s", resp.StatusCode, body)
	}
	agent["Authorization"] = "Bearer as-read-a"
	if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, agent); resp.StatusCode != 403 {
		t.Fatalf("read-only key after an ingest key's call of the same agent: %d %s", resp.StatusCode, body)
	}
	if n := len(f.llm.Requests()); n != before+1 {
		t.Fatalf("%d calls reached the provider, want the ingest key's 1", n-before)
	}
}

func TestProviderErrorsPassedThrough(t *testing.T) {
	f := setup(t, nil)
	f.llm.Script(llmtest.Reply{Status: 400, ErrorMessage: "bad model", ErrorType: "invalid_request_error", ErrorCode: "model_not_found"})
	resp, body := f.post(t, "/v1/chat/completions", `{"model":"nope","messages":[]}`, session("err-1", "bot"))
	if resp.StatusCode != 400 || !bytes.Equal(body, f.lastAnswer()) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	mc := one(t, f.events(t, "err-1"), agentscope.ModelCompleted)
	if !strings.Contains(mc.Error, "400") || !strings.Contains(mc.Error, "bad model") {
		t.Fatalf("ModelCompleted error %q", mc.Error)
	}
}

// TestFailover: a configured upstream that answers 503, or refuses the
// connection, passes the call to the next before anything reaches the
// client; the call is recorded under the name of the provider that served
// it; the failure opens the first's breaker, so the next call skips it.
func TestFailover(t *testing.T) {
	var downCalls atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downCalls.Add(1)
		w.WriteHeader(503)
		io.WriteString(w, `{"error":{"message":"overloaded","type":"server_error"}}`)
	}))
	defer down.Close()
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL + "/v1"
	refused.Close() // connections to it are refused
	for name, first := range map[string]string{"503": down.URL + "/v1", "connection refused": refusedURL} {
		t.Run(name, func(t *testing.T) {
			downCalls.Store(0)
			set := breaker.NewSet(breaker.Config{Failures: 1, CoolDown: time.Hour})
			f := setup(t, func(o *gateway.Options) {
				o.Upstreams = append([]gateway.Upstream{{Name: "first", API: gateway.OpenAI, BaseURL: first, APIKey: "k"}}, o.Upstreams...)
				o.Breakers = set
			})
			f.llm.Handle(func(llmtest.Request) llmtest.Reply {
				return llmtest.Reply{Content: "from the second", Usage: llmtest.Usage{PromptTokens: 1, CompletionTokens: 1}}
			})
			for range 2 {
				resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, session("fo-1", "bot"))
				if resp.StatusCode != 200 || !bytes.Equal(body, f.lastAnswer()) {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
			}
			if name == "503" && downCalls.Load() != 1 {
				t.Errorf("the failing upstream got %d calls: its open breaker should have skipped it after the first", downCalls.Load())
			}
			if set.Get(breaker.Key("first", first)).Closed() {
				t.Error("the failing upstream's breaker is closed")
			}
			mcs := byType(f.events(t, "fo-1"), agentscope.ModelCompleted)
			if len(mcs) != 2 {
				t.Fatalf("%d calls recorded", len(mcs))
			}
			for _, mc := range mcs {
				if mc.Provider != "openai" || mc.Error != "" {
					t.Fatalf("recorded provider %q, error %q", mc.Provider, mc.Error)
				}
			}
		})
	}
}

// TestSharedBreakers: the gateway's breakers are the set it is given — the
// runtime's, in serve — keyed by provider name and base URL: a provider
// whose breaker the runtime opened is skipped without a call, and with
// every breaker open the call is refused in the provider's shape, not
// forwarded.
func TestSharedBreakers(t *testing.T) {
	set := breaker.NewSet(breaker.Config{Failures: 2, CoolDown: time.Hour})
	f := setup(t, func(o *gateway.Options) {
		o.Upstreams = []gateway.Upstream{
			{Name: "primary", API: gateway.OpenAI, BaseURL: o.Upstreams[0].BaseURL + "/", APIKey: upstreamKey},
			{Name: "openai", API: gateway.OpenAI, BaseURL: o.Upstreams[0].BaseURL, APIKey: upstreamKey},
		}
		o.Breakers = set
	})
	f.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "ok"} })
	// The runtime's runs found the primary failing (its key ignores a
	// trailing slash, as base URLs are written either way).
	primary := set.Get(breaker.Key("primary", f.llm.URL))
	primary.Failure(time.Now(), "answered 500")
	primary.Failure(time.Now(), "answered 500")
	if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, session("br-1", "bot")); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if mc := one(t, f.events(t, "br-1"), agentscope.ModelCompleted); mc.Provider != "openai" {
		t.Fatalf("served by %q, want the second provider", mc.Provider)
	}
	if n := len(f.llm.Requests()); n != 1 {
		t.Fatalf("%d calls reached the providers, want 1", n)
	}
	// Every breaker open: refused, in OpenAI's shape, with why.
	second := set.Get(breaker.Key("openai", f.llm.URL))
	second.Failure(time.Now(), "connection refused")
	second.Failure(time.Now(), "connection refused")
	resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, session("br-1", "bot"))
	var oe struct {
		Error struct{ Message, Type string }
	}
	if err := json.Unmarshal(body, &oe); err != nil || resp.StatusCode != 503 || oe.Error.Type != "server_error" ||
		!strings.Contains(oe.Error.Message, "primary: circuit open") || !strings.Contains(oe.Error.Message, "openai: circuit open") {
		t.Fatalf("all breakers open: %d %s", resp.StatusCode, body)
	}
	if n := len(f.llm.Requests()); n != 1 {
		t.Fatalf("a call reached a provider whose breaker is open")
	}
}

// failing is a service whose recording fails or blocks.
type failing struct {
	gateway.Service
	block chan struct{}
}

func (s failing) RecordGateway(ctx context.Context, sessionID, agent string, evs []agentscope.Event) error {
	if s.block != nil {
		<-s.block
	}
	return agentscope.Errorf(agentscope.EUNAVAILABLE, "store down")
}

func TestRecordingNeverFailsTheCall(t *testing.T) {
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "ok"} })
	block := make(chan struct{})
	svc := failing{block: block}
	gw := gateway.New(capFree{svc}, gateway.Options{QueueSize: 4, Upstreams: []gateway.Upstream{{Name: "openai", API: gateway.OpenAI, BaseURL: llm.URL, APIKey: "k"}}})
	defer gw.Close()
	defer close(block)
	for range 20 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[]}`))
		gw.ServeHTTP(rec, req.WithContext(agentscope.WithPrincipal(req.Context(), ingestA)))
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if other := gw.Stats("org-b"); other != (gateway.Stats{}) {
		t.Fatalf("another organisation's stats %+v", other)
	}
	if st := gw.Stats("org-a"); st.Dropped == 0 || st.Calls != 20 || st.LastError == "" {
		t.Fatalf("stats %+v", st)
	}
}

type capFree struct{ failing }

func (failing) EndGatewaySession(context.Context, string) error { return nil }

func (capFree) GatewayHardCap(context.Context, string) (*agentscope.BudgetStatus, error) {
	return nil, nil
}

func (capFree) GatewayEventsAllowed(context.Context, int64) error { return nil }

// TestStreamWithoutUsage: a stream the client asked no usage for is
// recorded with its usage unknown, and no cost — not even when its session
// ends and the costs of its unpriced calls are computed.
func TestStreamWithoutUsage(t *testing.T) {
	f := setup(t, nil)
	f.llm.Script(llmtest.Reply{Content: "no usage", Usage: llmtest.Usage{PromptTokens: 5, CompletionTokens: 2}})
	h := map[string]string{"Authorization": "Bearer as-ingest-a", gateway.HeaderAgent: "nousage"}
	if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[]}`, h); resp.StatusCode != 200 || !bytes.Equal(body, f.lastAnswer()) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	ctx := agentscope.WithPrincipal(context.Background(), ownerA)
	f.gw.SweepIdle(time.Now().Add(24 * time.Hour))
	if err := f.gw.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.Runs(ctx, agentscope.RunFilter{Agent: "nousage"})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].Status != agentscope.StatusCompleted {
		t.Fatalf("runs %+v %v", page.Runs, err)
	}
	evs := f.events(t, page.Runs[0].SessionID)
	mc := one(t, evs, agentscope.ModelCompleted)
	if mc.Attributes["usage_unknown"] != true || string(mc.Output) != `"no usage"` {
		t.Fatalf("ModelCompleted %+v", mc)
	}
	if n := len(byType(evs, agentscope.CostRecorded)); n != 0 {
		t.Fatalf("%d costs recorded for a call of unknown usage: %s", n, types(evs))
	}
}

func TestSessionPerKeyAndAgentEndsWhenIdle(t *testing.T) {
	f := setup(t, func(o *gateway.Options) { o.IdleTimeout = time.Hour })
	f.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "ok"} })
	h := map[string]string{"Authorization": "Bearer as-ingest-a", gateway.HeaderAgent: "auto"}
	for range 2 {
		if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, h); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	ctx := agentscope.WithPrincipal(context.Background(), ownerA)
	if err := f.gw.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.Runs(ctx, agentscope.RunFilter{Agent: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Runs) != 1 || page.Runs[0].EventCount != 7 { // started, then invoked, completed, cost twice
		t.Fatalf("runs %+v", page.Runs)
	}
	f.gw.SweepIdle(time.Now().Add(2 * time.Hour))
	if err := f.gw.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	run, err := f.svc.GetRun(ctx, page.Runs[0].SessionID)
	if err != nil || run.Status != agentscope.StatusCompleted {
		t.Fatalf("run after idle: %+v %v", run, err)
	}
}

// TestSessionHeaderStaysInItsOrganisation: a session id that another
// organisation uses names the caller's own session; the other's is
// untouched.
func TestSessionHeaderStaysInItsOrganisation(t *testing.T) {
	f := setup(t, nil)
	ingestB := agentscope.Principal{Kind: agentscope.PrincipalKey, OrgID: "org-b", KeyID: "kb", Scopes: []agentscope.Scope{agentscope.ScopeIngest}}
	bctx := agentscope.WithPrincipal(context.Background(), ingestB)
	if _, err := f.svc.StartRun(bctx, service.StartRunInput{Agent: "bravo", SessionID: "shared-sid"}); err != nil {
		t.Fatal(err)
	}
	f.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "ok"} })
	if resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, session("shared-sid", "alpha")); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if evs := f.events(t, "shared-sid"); one(t, evs, agentscope.SessionStarted).Agent != "alpha" || len(byType(evs, agentscope.ModelCompleted)) != 1 {
		t.Fatalf("A's session %s", types(evs))
	}
	bevs, err := f.svc.ListEvents(agentscope.WithPrincipal(context.Background(), agentscope.Principal{Kind: agentscope.PrincipalInstance, OrgID: "org-b", Role: agentscope.RoleOwner}), "shared-sid", agentscope.EventFilter{})
	if err != nil || types(bevs) != "SessionStarted" {
		t.Fatalf("B's session %s %v", types(bevs), err)
	}
}

// TestConversationIDNotASessionID: a conversation id in
// X-AgentScope-Session-Id that is not a valid session id (found trying it
// as a new user: "ticket/123" failed the call with a 400) does not fail the
// call: it names the session by its hash, the same for every call, and the
// answer's X-AgentScope-Session-Id says which.
func TestConversationIDNotASessionID(t *testing.T) {
	f := setup(t, nil)
	f.llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 3, CompletionTokens: 1}}
	})
	var sid string
	for i := range 2 {
		resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, session("ticket/123 for ÜNICODE", "support-bot"))
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
		got := resp.Header.Get(gateway.HeaderSessionID)
		if agentscope.ValidateSessionID(got) != nil || !strings.HasPrefix(got, "gw-") || (sid != "" && got != sid) {
			t.Fatalf("call %d answered session %q (first %q)", i, got, sid)
		}
		sid = got
	}
	if evs := f.events(t, sid); types(evs) != "SessionStarted,ModelInvoked,ModelCompleted,CostRecorded,ModelInvoked,ModelCompleted,CostRecorded" {
		t.Fatalf("session %s: %s", sid, types(evs))
	}
	// A valid session id is used as it is, and not echoed.
	resp, _ := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, session("ticket-123", "support-bot"))
	if resp.StatusCode != 200 || resp.Header.Get(gateway.HeaderSessionID) != "" {
		t.Fatalf("valid id: %d, echoed %q", resp.StatusCode, resp.Header.Get(gateway.HeaderSessionID))
	}
	if evs := f.events(t, "ticket-123"); len(evs) == 0 {
		t.Fatal("the valid session id was not used")
	}
}

// TestLargeInputOmittedSaysSo: a conversation over the recorded size
// reaches the provider whole, and its ModelInvoked says how much was left
// out instead of silently having no input (found trying it as a new user).
func TestLargeInputOmittedSaysSo(t *testing.T) {
	f := setup(t, nil)
	f.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "ok"} })
	msgs := `[{"role":"user","content":"` + strings.Repeat("x", 100<<10) + `"}]`
	body := `{"model":"gpt-4o-mini","messages":` + msgs + `}`
	if resp, b := f.post(t, "/v1/chat/completions", body, session("big-1", "bot")); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	inv := one(t, f.events(t, "big-1"), agentscope.ModelInvoked)
	if len(inv.Input) != 0 || inv.Attributes["input_omitted_bytes"] != json.Number(strconv.Itoa(len(msgs))) || inv.Attributes["input_limit_bytes"] != json.Number("65536") {
		t.Fatalf("ModelInvoked of a large call: input %d bytes, attributes %v", len(inv.Input), inv.Attributes)
	}
	if got := f.llm.Requests()[0].Messages; len(got) != 1 || len(got[0].Content) != 100<<10 {
		t.Fatalf("the provider did not get the whole conversation")
	}
}

// TestNoUpstreamRecordsNothing: a call refused because the gateway has no
// upstream names the setting to fix it, opens no session, and is not
// counted as a lost record when the gateway closes (it once was: the
// session it opened was ended, never started, and the end failed).
func TestNoUpstreamRecordsNothing(t *testing.T) {
	f := setup(t, func(o *gateway.Options) { o.Upstreams = nil })
	// No session id: the gateway would open one of its own, which Close
	// ends.
	resp, body := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"Authorization": "Bearer as-ingest-a", gateway.HeaderAgent: "bot"})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "AGENTSCOPE_LLM_API_KEY") {
		t.Fatalf("no upstream: %d %s", resp.StatusCode, body)
	}
	f.gw.Close()
	if st := f.gw.Stats("org-a"); st.Failed != 0 || st.Recorded != 0 || st.LastError != "" {
		t.Errorf("stats after a refused call: %+v", st)
	}
}
