package runtime_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
)

// TestManagedRunEndToEnd runs a managed agent through the real queue, the
// real MCP tool path and an OpenAI-compatible server speaking the streaming
// protocol, and checks the exact recorded timeline and costs.
func TestManagedRunEndToEnd(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			open := b.prepare(t)
			llm := llmtest.New()
			defer llm.Close()
			llm.APIKey = "sk-test-123456789"
			probe, _ := open(t)
			searcher := &storeSearcher{store: probe}
			n := newNode(t, open, config{workers: 2, llm: llm, apiKey: "sk-test-123456789", searcher: searcher})
			n.createAgent(t, "analyst", runtime.Spec{Model: "gpt-4.1", SystemPrompt: "You analyse costs.", Tools: []string{"splunk_context_search", "get_run"}})

			llm.Script(
				llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: "splunk_context_search", Arguments: `{"query":"search type=RunQueued","earliest":"-1h"}`}},
					Usage: llmtest.Usage{PromptTokens: 1200, CachedTokens: 1000, CompletionTokens: 80, ReasoningTokens: 20}},
				llmtest.Reply{Content: "One run was queued in the last hour.", Usage: llmtest.Usage{PromptTokens: 1500, CachedTokens: 1200, CompletionTokens: 40}},
			)
			tokens, stop := n.rt.Tokens().Subscribe(org, "e2e-1")
			defer stop()
			run := n.start(t, "analyst", "e2e-1", "How many runs were queued?")
			if run.Status != agentscope.StatusQueued || !run.Managed {
				t.Fatalf("start_run returned %+v; want a queued managed run", run)
			}
			run = n.wait(t, "e2e-1", 20*time.Second)
			if run.Status != agentscope.StatusCompleted {
				t.Fatalf("run %+v", run)
			}
			// 200 uncached × $2 + 1000 cached × $0.50 + 80 × $8 per million = 0.00154;
			// 300 × $2 + 1200 × $0.50 + 40 × $8 per million = 0.00152.
			if run.CostUSD.String() != "0.00306" || string(run.Output) != `"One run was queued in the last hour."` {
				t.Errorf("run cost %s output %s", run.CostUSD, run.Output)
			}

			evs := n.events(t, "e2e-1")
			want := "RunQueued RunStarted SessionStarted ModelInvoked ModelCompleted CostRecorded ToolCalled ToolReturned ModelInvoked ModelCompleted CostRecorded SessionCompleted"
			if got := types(evs); got != want {
				t.Fatalf("timeline:\n got %s\nwant %s", got, want)
			}
			for i, ev := range evs {
				if ev.Seq != int64(i+1) || ev.Agent != "analyst" {
					t.Errorf("event %d: seq %d agent %q", i, ev.Seq, ev.Agent)
				}
			}
			mc := find(evs, agentscope.ModelCompleted)
			first := mc[0]
			if first.Provider != "127.0.0.1" || first.Model != "gpt-4.1" || *first.TokensIn != 1200 || *first.TokensOut != 80 ||
				*first.CacheReadTokens != 1000 || *first.ReasoningTokens != 20 || first.FinishReason != "tool_calls" || first.Error != "" || first.DurationMS == nil {
				t.Errorf("first ModelCompleted %+v", first)
			}
			if attr(first, "cost_usd") != "0.00154" || attr(first, "tool_calls") != "1" {
				t.Errorf("first ModelCompleted attributes %v", first.Attributes)
			}
			if string(mc[1].Output) != `"One run was queued in the last hour."` || mc[1].FinishReason != "stop" || mc[1].CacheReadTokens == nil || *mc[1].CacheReadTokens != 1200 {
				t.Errorf("second ModelCompleted %+v", mc[1])
			}
			costs := find(evs, agentscope.CostRecorded)
			if costs[0].AmountUSD.String() != "0.00154" || costs[1].AmountUSD.String() != "0.00152" || costs[0].Currency != "USD" ||
				costs[0].SpanID != first.SpanID || !strings.HasPrefix(costs[0].Source, "agentscope-pricing/") {
				t.Errorf("costs %+v %+v", costs[0], costs[1])
			}
			called, returned := find(evs, agentscope.ToolCalled)[0], find(evs, agentscope.ToolReturned)[0]
			if called.Tool != "splunk_context_search" || called.CallID != "call_1" || string(called.Arguments) != `{"query":"search type=RunQueued","earliest":"-1h"}` || called.ParentSpanID != first.SpanID {
				t.Errorf("ToolCalled %+v", called)
			}
			if returned.Status != "ok" || returned.CallID != "call_1" || !strings.Contains(string(returned.Result), `"session_id":"e2e-1"`) || !strings.Contains(string(returned.Result), `"count":1`) {
				t.Errorf("ToolReturned %+v result %s", returned, returned.Result)
			}
			done := find(evs, agentscope.SessionCompleted)[0]
			if done.Status != "completed" || attr(done, "cost_usd") != "0.00306" || attr(done, "model_calls") != "2" || attr(done, "tool_calls") != "1" ||
				attr(done, "tokens_in") != "2700" || attr(done, "tokens_out") != "120" || done.Attributes["cost_unknown"] != nil {
				t.Errorf("SessionCompleted %+v", done)
			}
			if got := find(evs, agentscope.SessionStarted)[0]; string(got.Input) != `"How many runs were queued?"` {
				t.Errorf("SessionStarted input %s", got.Input)
			}

			// The search ran in the run's organisation.
			if searcher.orgs[0] != org {
				t.Errorf("search ran in org %q", searcher.orgs[0])
			}
			// What the model saw: the system prompt, the input, the offered
			// tools with their MCP schemas, usage requested, the tool result.
			reqs := llm.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d model requests", len(reqs))
			}
			r0 := reqs[0]
			if !r0.Stream || !r0.IncludeUsage || r0.Messages[0].Role != "system" || r0.Messages[0].Content != "You analyse costs." ||
				r0.LastUser() != "How many runs were queued?" || strings.Join(r0.Tools, ",") != "splunk_context_search,get_run" {
				t.Errorf("first request %+v", r0)
			}
			var schema map[string]any
			if err := json.Unmarshal(r0.ToolSchemas["splunk_context_search"], &schema); err != nil || schema["properties"].(map[string]any)["query"] == nil {
				t.Errorf("search tool schema %s", r0.ToolSchemas["splunk_context_search"])
			}
			if res := reqs[1].ToolResults(); len(res) != 1 || !strings.Contains(res[0], `"count":1`) {
				t.Errorf("tool results sent back %q", res)
			}
			// The answer streamed to live subscribers token by token.
			var streamed strings.Builder
			for streamed.Len() < len("One run was queued in the last hour.") {
				select {
				case tok := <-tokens:
					streamed.WriteString(tok.Text)
				case <-time.After(5 * time.Second):
					t.Fatalf("streamed only %q", streamed.String())
				}
			}
			if streamed.String() != "One run was queued in the last hour." {
				t.Errorf("streamed %q", streamed.String())
			}
		})
	}
}
