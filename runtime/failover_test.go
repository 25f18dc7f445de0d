package runtime_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/breaker"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
)

// testClock is a clock the test moves by hand.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestProviderFailover runs an agent with two providers while the first
// fails: each failure switches the run to the second with a
// ProviderSwitched event, two consecutive failures open the first's
// breaker so later runs skip it (recording why), and after the cool-down a
// trial call to the recovered provider closes the breaker again.
func TestProviderFailover(t *testing.T) {
	t.Parallel()
	primary, secondary := llmtest.New(), llmtest.New()
	defer primary.Close()
	defer secondary.Close()
	var primaryDown atomic.Bool
	primaryDown.Store(true)
	ok := llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 1}}
	primary.Handle(func(llmtest.Request) llmtest.Reply {
		if primaryDown.Load() {
			return llmtest.Reply{Status: 503, ErrorMessage: "The engine is currently overloaded", ErrorType: "server_error"}
		}
		return ok
	})
	secondary.Handle(func(llmtest.Request) llmtest.Reply { return ok })
	clock := newTestClock()
	n := newNode(t, backends()[0].prepare(t), config{workers: 1, opts: func(o *runtime.Options) {
		o.Getenv = func(k string) string { return map[string]string{"PRIMARY_KEY": "k1", "SECONDARY_KEY": "k2"}[k] }
		o.Breaker = runtime.BreakerConfig{Failures: 2, CoolDown: time.Minute}
		o.Now = clock.Now
	}})
	n.createAgent(t, "a", runtime.Spec{Model: "gpt-4.1-mini", SystemPrompt: "x", Providers: []runtime.ProviderSpec{
		{Name: "primary", BaseURL: primary.URL, APIKeyEnv: "PRIMARY_KEY"},
		{Name: "secondary", BaseURL: secondary.URL, APIKeyEnv: "SECONDARY_KEY"},
	}})
	run := func(sid string) []agentscope.Event {
		t.Helper()
		n.start(t, "a", sid, "hi")
		if r := n.wait(t, sid, 10*time.Second); r.Status != agentscope.StatusCompleted {
			t.Fatalf("%s: %s %s", sid, r.Status, r.Error)
		}
		return n.events(t, sid)
	}
	switched := func(evs []agentscope.Event) []agentscope.Event { return find(evs, agentscope.ProviderSwitched) }

	// Run 1: the first failure, a switch after the failed call.
	evs := run("f1")
	if got := types(evs); got != "RunQueued RunStarted SessionStarted ModelInvoked ModelCompleted ProviderSwitched ModelInvoked ModelCompleted CostRecorded SessionCompleted" {
		t.Fatalf("run 1: %s", got)
	}
	sw := switched(evs)[0]
	if sw.Provider != "secondary" || attr(sw, "from_provider") != "primary" || !strings.Contains(sw.Error, "call failed: provider primary") || !strings.Contains(sw.Error, "answered 503") {
		t.Errorf("run 1 switch %+v", sw)
	}
	if mc := find(evs, agentscope.ModelCompleted); mc[0].Provider != "primary" || mc[0].Error == "" || mc[1].Provider != "secondary" {
		t.Errorf("run 1 calls %+v", mc)
	}
	// Run 2: the second consecutive failure opens the breaker.
	run("f2")
	// Run 3: the primary is skipped without a call, and the event says why.
	before := len(primary.Requests())
	evs = run("f3")
	if got := types(evs); got != "RunQueued RunStarted SessionStarted ProviderSwitched ModelInvoked ModelCompleted CostRecorded SessionCompleted" {
		t.Fatalf("run 3: %s", got)
	}
	if sw := switched(evs)[0]; sw.Provider != "secondary" || !strings.Contains(sw.Error, "primary: circuit open: 2 consecutive failures") {
		t.Errorf("run 3 switch %+v", sw)
	}
	if len(primary.Requests()) != before {
		t.Error("an open breaker let a call through")
	}
	// The primary recovers; after the cool-down a trial call closes the
	// breaker and runs stay on the primary.
	primaryDown.Store(false)
	clock.Advance(time.Minute)
	for _, sid := range []string{"f4", "f5"} {
		evs = run(sid)
		if len(switched(evs)) != 0 || find(evs, agentscope.ModelCompleted)[0].Provider != "primary" {
			t.Errorf("%s after recovery: %s on %s", sid, types(evs), find(evs, agentscope.ModelCompleted)[0].Provider)
		}
	}
	if got := len(primary.Requests()); got != 4 {
		t.Errorf("primary got %d calls, want 4 (runs 1, 2, 4, 5)", got)
	}
}

// TestProcessProviders: an agent whose definition lists no providers runs
// on the process's list (Options.Providers, AGENTSCOPE_LLM_PROVIDERS) with
// its failover, and the breakers are the set the runtime is given — the
// one the LLM gateway shares — so a provider another user of the set
// found failing is skipped without a call.
func TestProcessProviders(t *testing.T) {
	t.Parallel()
	primary, secondary := llmtest.New(), llmtest.New()
	defer primary.Close()
	defer secondary.Close()
	ok := llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 1}}
	primary.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Status: 503, ErrorMessage: "overloaded", ErrorType: "server_error"}
	})
	secondary.Handle(func(llmtest.Request) llmtest.Reply { return ok })
	set := breaker.NewSet(breaker.Config{Failures: 1, CoolDown: time.Hour})
	n := newNode(t, backends()[0].prepare(t), config{workers: 1, opts: func(o *runtime.Options) {
		o.Getenv = func(k string) string { return map[string]string{"SECONDARY_KEY": "k2"}[k] }
		o.LLM = runtime.LLMConfig{APIKey: "k1", Model: "gpt-4.1-mini"}
		o.Providers = []runtime.ProviderSpec{{Name: "primary", BaseURL: primary.URL}, {Name: "secondary", BaseURL: secondary.URL, APIKeyEnv: "SECONDARY_KEY"}}
		o.Breakers = set
	}})
	n.createAgent(t, "a", runtime.Spec{SystemPrompt: "x"})
	n.start(t, "a", "p1", "hi")
	if r := n.wait(t, "p1", 10*time.Second); r.Status != agentscope.StatusCompleted {
		t.Fatalf("p1: %s %s", r.Status, r.Error)
	}
	mc := find(n.events(t, "p1"), agentscope.ModelCompleted)
	if len(mc) != 2 || mc[0].Provider != "primary" || mc[0].Error == "" || mc[1].Provider != "secondary" {
		t.Fatalf("calls %+v", mc)
	}
	// The failure opened the primary's breaker in the shared set, under
	// the key the gateway uses for the same provider.
	if set.Get(breaker.Key("primary", primary.URL)).Closed() {
		t.Fatal("the primary's breaker in the shared set is closed")
	}
}
