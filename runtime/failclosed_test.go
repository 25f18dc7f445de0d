package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
)

var analyst = runtime.Spec{Model: "gpt-4.1", SystemPrompt: "You analyse.", Tools: []string{"splunk_context_search"}}

func TestNoAPIKeyFailsClosed(t *testing.T) {
	t.Parallel()
	open := backends()[0].prepare(t)
	llm := llmtest.New()
	defer llm.Close()
	n := newNode(t, open, config{workers: 1, opts: func(o *runtime.Options) { o.LLM = runtime.LLMConfig{BaseURL: llm.URL, Model: "gpt-4.1"} }})
	n.createAgent(t, "a", analyst)
	n.start(t, "a", "nokey", "hi")
	run := n.wait(t, "nokey", 10*time.Second)
	evs := n.events(t, "nokey")
	if run.Status != agentscope.StatusFailed || types(evs) != "RunQueued RunStarted SessionStarted RunFailed SessionCompleted" {
		t.Fatalf("run %s, timeline %s", run.Status, types(evs))
	}
	want := "no usable LLM provider: provider 127.0.0.1 has no API key: set AGENTSCOPE_LLM_API_KEY (or OPENAI_API_KEY)"
	if got := find(evs, agentscope.RunFailed)[0].Error; got != want || run.Error != want {
		t.Errorf("error %q / %q, want %q", got, run.Error, want)
	}
	if len(llm.Requests()) != 0 {
		t.Error("the provider was called without a key")
	}
}

// TestSecretsStayOut sends a wrong key that the provider echoes back in its
// 401 error: the run fails at once (a 401 is permanent) and no event or
// error holds the key.
func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	open := backends()[0].prepare(t)
	llm := llmtest.New()
	defer llm.Close()
	llm.APIKey = "sk-right-key-0000"
	const wrong = "sk-proj-WRONGKEY1234567890"
	llm.Handle(func(r llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Status: 401, ErrorMessage: "Incorrect API key provided: " + wrong + ".", ErrorType: "invalid_request_error", ErrorCode: "invalid_api_key"}
	})
	n := newNode(t, open, config{workers: 1, llm: llm, apiKey: wrong})
	n.createAgent(t, "a", analyst)
	n.start(t, "a", "leak", "hi")
	run := n.wait(t, "leak", 10*time.Second)
	if run.Status != agentscope.StatusFailed || !strings.Contains(run.Error, "answered 401") || !strings.Contains(run.Error, "check the key in AGENTSCOPE_LLM_API_KEY") {
		t.Fatalf("run %s: %s", run.Status, run.Error)
	}
	for _, ev := range n.events(t, "leak") {
		b, _ := ev.MarshalCanonical()
		if strings.Contains(string(b), "WRONGKEY") || strings.Contains(string(b), "sk-proj") {
			t.Errorf("event %s holds the key: %s", ev.Type, b)
		}
	}
	if got := len(llm.Requests()); got != 1 {
		t.Errorf("%d calls; a 401 must not be retried", got)
	}
}

// TestProviderDown points the agent at a closed port: each attempt fails
// transiently, River retries, and the last attempt fails the run with the
// reason.
func TestProviderDown(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			n := newNode(t, b.prepare(t), config{workers: 1, opts: func(o *runtime.Options) {
				o.LLM = runtime.LLMConfig{BaseURL: "http://" + addr + "/v1", APIKey: "k", Model: "gpt-4.1"}
				o.MaxAttempts = 2
			}})
			n.createAgent(t, "a", analyst)
			n.start(t, "a", "down", "hi")
			run := n.wait(t, "down", 20*time.Second)
			evs := n.events(t, "down")
			want := "RunQueued RunStarted SessionStarted ModelInvoked ModelCompleted RunRetried RunStarted ModelInvoked ModelCompleted RunFailed SessionCompleted"
			if run.Status != agentscope.StatusFailed || types(evs) != want {
				t.Fatalf("run %s, timeline\n got %s\nwant %s", run.Status, types(evs), want)
			}
			if !strings.HasPrefix(run.Error, "failed after 2 attempts: provider 127.0.0.1 (http://"+addr) || !strings.Contains(run.Error, "is unreachable") {
				t.Errorf("error %q", run.Error)
			}
			if mc := find(evs, agentscope.ModelCompleted)[0]; mc.Error == "" || *mc.TokensIn != 0 {
				t.Errorf("failed ModelCompleted %+v", mc)
			}
			if started := find(evs, agentscope.RunStarted); attr(started[1], "attempt") != "2" {
				t.Errorf("second RunStarted %v", started[1].Attributes)
			}
		})
	}
}

// TestTransientErrorRetried answers 500 once: the run is retried and
// completes, and the failed call is on record.
func TestTransientErrorRetried(t *testing.T) {
	t.Parallel()
	open := backends()[0].prepare(t)
	llm := llmtest.New()
	defer llm.Close()
	llm.Script(
		llmtest.Reply{Status: 500, ErrorMessage: "The server had an error while processing your request.", ErrorType: "server_error"},
		llmtest.Reply{Content: "done", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 1}},
	)
	n := newNode(t, open, config{workers: 1, llm: llm})
	n.createAgent(t, "a", analyst)
	n.start(t, "a", "flaky", "hi")
	run := n.wait(t, "flaky", 10*time.Second)
	evs := n.events(t, "flaky")
	want := "RunQueued RunStarted SessionStarted ModelInvoked ModelCompleted RunRetried RunStarted ModelInvoked ModelCompleted CostRecorded SessionCompleted"
	if run.Status != agentscope.StatusCompleted || types(evs) != want {
		t.Fatalf("run %s, timeline\n got %s\nwant %s", run.Status, types(evs), want)
	}
	if r := find(evs, agentscope.RunRetried)[0]; !strings.Contains(r.Error, "answered 500: The server had an error") {
		t.Errorf("RunRetried %q", r.Error)
	}
}

func TestPermanentErrorNotRetried(t *testing.T) {
	t.Parallel()
	open := backends()[0].prepare(t)
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Status: 404, ErrorMessage: "The model `gpt-9` does not exist", ErrorType: "invalid_request_error", ErrorCode: "model_not_found"}
	})
	n := newNode(t, open, config{workers: 1, llm: llm})
	n.createAgent(t, "a", analyst)
	n.start(t, "a", "perm", "hi")
	run := n.wait(t, "perm", 10*time.Second)
	if run.Status != agentscope.StatusFailed || !strings.Contains(run.Error, "answered 404: The model `gpt-9` does not exist") {
		t.Fatalf("run %s: %q", run.Status, run.Error)
	}
	if len(llm.Requests()) != 1 || len(find(n.events(t, "perm"), agentscope.RunRetried)) != 0 {
		t.Error("a 404 was retried")
	}
}

// TestSearchFailsClosed covers splunk_context_search without a search
// backend and with one that fails: the model gets the error as the tool's
// result, the failure is recorded as a failed ToolReturned, and no rows are
// made up.
func TestSearchFailsClosed(t *testing.T) {
	for _, c := range []struct {
		name     string
		searcher agentscope.Searcher
		want     string
	}{
		{"no backend", nil, "splunk_context_search is not available: no Splunk connection and no embedded search engine is configured"},
		{"backend down", failingSearcher{}, "the search backend failed: splunk at https://splunk.example:8089 is unreachable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			llm := llmtest.New()
			defer llm.Close()
			llm.Script(
				llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: "splunk_context_search", Arguments: `{"query":"search index=main"}`}}, Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 5}},
				llmtest.Reply{Content: "I could not search.", Usage: llmtest.Usage{PromptTokens: 20, CompletionTokens: 5}},
			)
			n := newNode(t, backends()[0].prepare(t), config{workers: 1, llm: llm, searcher: c.searcher})
			n.createAgent(t, "a", analyst)
			n.start(t, "a", "s", "search")
			run := n.wait(t, "s", 10*time.Second)
			if run.Status != agentscope.StatusCompleted {
				t.Fatalf("run %s %s", run.Status, run.Error)
			}
			ret := find(n.events(t, "s"), agentscope.ToolReturned)[0]
			if ret.Status != "error" || !strings.Contains(ret.Error, c.want) || len(ret.Result) != 0 {
				t.Errorf("ToolReturned %+v", ret)
			}
			if got := llm.Requests()[1].ToolResults(); len(got) != 1 || !strings.HasPrefix(got[0], "error: ") || !strings.Contains(got[0], c.want) {
				t.Errorf("the model was told %q", got)
			}
		})
	}
}

type failingSearcher struct{}

func (failingSearcher) Search(context.Context, string, agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	return nil, errors.New("splunk at https://splunk.example:8089 is unreachable")
}

// TestSlowModelTimesOut answers too slowly once: the call times out (a
// transient failure), and the retry completes.
func TestSlowModelTimesOut(t *testing.T) {
	t.Parallel()
	llm := llmtest.New()
	defer llm.Close()
	llm.Script(llmtest.Reply{Content: "late", Delay: time.Minute}, llmtest.Reply{Content: "on time", Usage: llmtest.Usage{PromptTokens: 3, CompletionTokens: 2}})
	n := newNode(t, backends()[0].prepare(t), config{workers: 1, llm: llm})
	spec := analyst
	spec.Limits.ModelTimeout = "200ms"
	n.createAgent(t, "a", spec)
	n.start(t, "a", "slow", "hi")
	run := n.wait(t, "slow", 10*time.Second)
	evs := n.events(t, "slow")
	if run.Status != agentscope.StatusCompleted || !strings.Contains(find(evs, agentscope.RunRetried)[0].Error, "no answer within the model timeout of 200ms") {
		t.Fatalf("run %s, timeline %s", run.Status, types(evs))
	}
	if mc := find(evs, agentscope.ModelCompleted)[0]; !strings.Contains(mc.Error, "model timeout") || *mc.DurationMS < 200 {
		t.Errorf("timed-out call %+v", mc)
	}
}

// TestRunTimeout bounds a run: when limits.timeout passes during a call,
// the run fails at once with the reason (a run timeout is not retried).
func TestRunTimeout(t *testing.T) {
	t.Parallel()
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "late", Delay: time.Minute} })
	n := newNode(t, backends()[0].prepare(t), config{workers: 1, llm: llm})
	spec := analyst
	spec.Limits.Timeout = "1s"
	n.createAgent(t, "a", spec)
	n.start(t, "a", "long", "hi")
	run := n.wait(t, "long", 20*time.Second)
	if run.Status != agentscope.StatusFailed || run.Error != "the run timed out after 1s (limits.timeout)" {
		t.Fatalf("run %s %q", run.Status, run.Error)
	}
	// One call, unless a loaded machine let the second pass before the
	// first call began; never a retry.
	if len(llm.Requests()) > 1 {
		t.Errorf("%d calls; a run timeout is not retried", len(llm.Requests()))
	}
}

// TestUnknownModelCost runs a model the pricing table does not know: no
// CostRecorded is written (an unknown cost is not zero), the call and the
// session carry cost_unknown, and the run counts the call as unpriced.
func TestUnknownModelCost(t *testing.T) {
	t.Parallel()
	llm := llmtest.New()
	defer llm.Close()
	llm.Script(llmtest.Reply{Content: "hi", Usage: llmtest.Usage{PromptTokens: 30, CompletionTokens: 2}})
	n := newNode(t, backends()[0].prepare(t), config{workers: 1, llm: llm})
	spec := analyst
	spec.Model = "acme-finetune-7"
	n.createAgent(t, "a", spec)
	n.start(t, "a", "unpriced", "hi")
	run := n.wait(t, "unpriced", 10*time.Second)
	evs := n.events(t, "unpriced")
	if run.Status != agentscope.StatusCompleted || types(evs) != "RunQueued RunStarted SessionStarted ModelInvoked ModelCompleted SessionCompleted" {
		t.Fatalf("run %s, timeline %s", run.Status, types(evs))
	}
	mc, done := find(evs, agentscope.ModelCompleted)[0], find(evs, agentscope.SessionCompleted)[0]
	if mc.Attributes["cost_unknown"] != true || *mc.TokensIn != 30 || done.Attributes["cost_unknown"] != true {
		t.Errorf("ModelCompleted %v, SessionCompleted %v", mc.Attributes, done.Attributes)
	}
	// The run says so too, for the lists, which read runs, not events.
	if run.UnpricedCalls != 1 || run.CostUSD != 0 {
		t.Errorf("run has %d unpriced calls and cost %s, want 1 and 0", run.UnpricedCalls, run.CostUSD)
	}
}

// TestToolResultBounded sends a large tool result back to the model cut to
// limits.max_tool_result_bytes, and records what the model saw.
func TestToolResultBounded(t *testing.T) {
	t.Parallel()
	llm := llmtest.New()
	defer llm.Close()
	// Replies by request, not in order: a filler run below may be claimed
	// before it is cancelled, and must not take the big run's replies.
	llm.Handle(func(r llmtest.Request) llmtest.Reply {
		switch {
		case len(r.ToolResults()) > 0:
			return llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 3, CompletionTokens: 2}}
		case strings.Contains(r.LastUser(), "search"):
			return llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: "splunk_context_search", Arguments: `{"query":"type=RunQueued","limit":1000}`}}, Usage: llmtest.Usage{PromptTokens: 3, CompletionTokens: 2}}
		}
		return llmtest.Reply{Content: "filler", Usage: llmtest.Usage{PromptTokens: 3, CompletionTokens: 2}}
	})
	open := backends()[0].prepare(t)
	probe, _ := open(t)
	n := newNode(t, open, config{workers: 1, llm: llm, searcher: &storeSearcher{store: probe}})
	spec := analyst
	spec.Limits.MaxToolResultBytes = 300
	n.createAgent(t, "a", spec)
	for i := range 20 { // rows for the search to find
		n.start(t, "a", fmt.Sprintf("filler-%02d", i), "x")
		_, _ = n.svc.CancelRun(n.ctx(), fmt.Sprintf("filler-%02d", i))
	}
	n.start(t, "a", "big", "search")
	if run := n.wait(t, "big", 10*time.Second); run.Status != agentscope.StatusCompleted {
		t.Fatalf("run %s %s", run.Status, run.Error)
	}
	var sent string
	for _, r := range llm.Requests() {
		if res := r.ToolResults(); len(res) > 0 {
			sent = res[0]
		}
	}
	if len(sent) > 300+60 || !strings.Contains(sent, "[truncated: the first 300 of ") {
		t.Errorf("the model got %d bytes: %q", len(sent), sent)
	}
	ret := find(n.events(t, "big"), agentscope.ToolReturned)[0]
	var recorded string
	if err := json.Unmarshal(ret.Result, &recorded); err != nil || recorded != sent {
		t.Errorf("recorded result %s", ret.Result)
	}
}
