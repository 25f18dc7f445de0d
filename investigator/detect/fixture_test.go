package detect

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// The fixtures are deterministic sessions of a managed agent ("planner",
// run by the runtime: RunQueued, RunStarted, ModelInvoked with step,
// messages and tools attributes, ProviderSwitched on failover) and of an
// external agent that reports its own prompts. A clean run has varied
// tools, a single tool error, a timed-out attempt retried after an 8-minute
// backoff, a queue wait of 6 minutes and a rate-limited call followed by an
// announced switch to another provider.

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// builder appends events with consecutive seqs and ids "<session>-<seq>".
type builder struct {
	id              string
	ts              time.Time
	evs             []agentscope.Event
	provider, model string
}

func newBuilder(id string, start time.Time) *builder {
	return &builder{id: id, ts: start, provider: "openai", model: "gpt-4.1"}
}

// add appends ev after a pause and returns its id.
func (b *builder) add(after time.Duration, ev agentscope.Event) string {
	b.ts = b.ts.Add(after)
	ev.SessionID = b.id
	ev.Seq = int64(len(b.evs) + 1)
	ev.EventID = fmt.Sprintf("%s-%03d", b.id, ev.Seq)
	ev.TS = b.ts
	b.evs = append(b.evs, ev)
	return ev.EventID
}

func (b *builder) lastID() string { return b.evs[len(b.evs)-1].EventID }

func num(n int) json.Number { return json.Number(fmt.Sprint(n)) }
func i64(n int64) *int64    { return &n }
func f64(f float64) *float64 {
	return &f
}

func usd(s string) *agentscope.USD {
	u, err := agentscope.ParseUSD(s)
	if err != nil {
		panic(err)
	}
	return &u
}

func stepAttrs(step, msgs int) map[string]any {
	return map[string]any{"step": num(step), "messages": num(msgs), "tools": num(4)}
}

func (b *builder) invoke(attrs map[string]any, input string) string {
	ev := agentscope.Event{Type: agentscope.ModelInvoked, Provider: b.provider, Model: b.model, Attributes: attrs}
	if input != "" {
		ev.Input = json.RawMessage(input)
	}
	return b.add(400*time.Millisecond, ev)
}

func (b *builder) complete(ms float64, errText string) string {
	ev := agentscope.Event{Type: agentscope.ModelCompleted, Provider: b.provider, Model: b.model, DurationMS: f64(ms),
		TokensIn: i64(1800), TokensOut: i64(240), FinishReason: "stop"}
	if errText != "" {
		ev.Error, ev.FinishReason, ev.TokensOut = errText, "error", i64(0)
	}
	return b.add(time.Duration(ms*float64(time.Millisecond)), ev)
}

func (b *builder) cost(amount string) string {
	return b.add(5*time.Millisecond, agentscope.Event{Type: agentscope.CostRecorded, AmountUSD: usd(amount), Currency: "USD",
		Provider: b.provider, Model: b.model, Source: "pricing-table"})
}

// modelCall records a successful call with its cost; it returns the
// ModelInvoked and ModelCompleted ids.
func (b *builder) modelCall(attrs map[string]any, input string, ms float64, amount string) (invoked, completed string) {
	invoked = b.invoke(attrs, input)
	completed = b.complete(ms, "")
	b.cost(amount)
	return invoked, completed
}

// toolCall records a call and its return; it returns both ids.
func (b *builder) toolCall(after time.Duration, tool, args string, ms float64, errText string) (called, returned string) {
	call := fmt.Sprintf("call-%d", len(b.evs)+1)
	called = b.add(after, agentscope.Event{Type: agentscope.ToolCalled, Tool: tool, CallID: call, Arguments: json.RawMessage(args)})
	ret := agentscope.Event{Type: agentscope.ToolReturned, Tool: tool, CallID: call, DurationMS: f64(ms), Status: "ok", Result: json.RawMessage(`{"ok":true}`)}
	if errText != "" {
		ret.Status, ret.Error, ret.Result = "error", errText, nil
	}
	returned = b.add(time.Duration(ms*float64(time.Millisecond)), ret)
	return called, returned
}

func (b *builder) switchTo(provider, model string) string {
	from := b.provider
	b.provider, b.model = provider, model
	return b.add(20*time.Millisecond, agentscope.Event{Type: agentscope.ProviderSwitched, Provider: provider, Model: model,
		Error: "call failed: 429 rate limited", Attributes: map[string]any{"from_provider": from}})
}

var fixtureTools = []string{"search", "fetch", "calc", "read_file"}

func toolArgs(tool string, v, step int) string {
	switch tool {
	case "search":
		return fmt.Sprintf(`{"q":"quarterly revenue %d","limit":%d}`, v, 5+step)
	case "fetch":
		return fmt.Sprintf(`{"url":"https://example.com/report/%d/%d"}`, v, step)
	case "calc":
		return fmt.Sprintf(`{"expr":"%d * %d + 7"}`, v+3, step+2)
	}
	return fmt.Sprintf(`{"path":"notes/%d-%d.md","lines":[1,%d]}`, v, step, 40+step)
}

// runOpts shape a managed run.
type runOpts struct {
	v int
	// open leaves the run running: no SessionCompleted.
	open bool
	// inject adds events at the end of each step.
	inject func(b *builder, step int)
}

// managedRun builds one run of the managed agent.
func managedRun(id string, o runOpts) *builder {
	v := o.v
	b := newBuilder(id, t0.Add(time.Duration(v)*97*time.Minute))
	b.add(0, agentscope.Event{Type: agentscope.RunQueued, Input: json.RawMessage(`{"task":"summarise the quarter"}`),
		Attributes: map[string]any{"queue": "default", "max_attempts": num(3)}})
	b.add(6*time.Minute, agentscope.Event{Type: agentscope.RunStarted, Attributes: map[string]any{"attempt": num(1), "max_attempts": num(3)}})
	b.add(30*time.Millisecond, agentscope.Event{Type: agentscope.SessionStarted, Agent: "planner", Input: json.RawMessage(`{"task":"summarise the quarter"}`)})
	steps := 6 + v%3
	calls := 0
	for step := range steps {
		msgs := 2 + 2*step
		ms := float64(900 + (v*131+step*377)%4200)
		amount := fmt.Sprintf("%.4f", 0.002+float64((v*7+step*3)%5)*0.0005)
		switch step {
		case 2: // the attempt times out and is retried after a backoff
			b.invoke(stepAttrs(step, msgs), "")
			b.complete(20000, "context deadline exceeded")
			b.add(10*time.Millisecond, agentscope.Event{Type: agentscope.RunRetried, Error: "model call timed out"})
			b.add(8*time.Minute, agentscope.Event{Type: agentscope.RunStarted, Attributes: map[string]any{"attempt": num(2), "max_attempts": num(3)}})
		case 3: // rate limited: fail over to the next provider, announced
			b.invoke(stepAttrs(step, msgs), "")
			b.complete(310, "429 rate limited")
			b.switchTo("anthropic", "claude-sonnet-4")
		}
		attrs := stepAttrs(step, msgs)
		if step == 2 {
			attrs["resumed"] = true // only the first call of a retried attempt says so
		}
		b.modelCall(attrs, "", ms, amount)
		calls++
		tool := fixtureTools[(v+step)%len(fixtureTools)]
		errText := ""
		if step == 4 && v%2 == 0 {
			errText = "HTTP 503 from upstream"
		}
		b.toolCall(150*time.Millisecond, tool, toolArgs(tool, v, step), float64(40+(v*17+step*29)%900), errText)
		if o.inject != nil {
			o.inject(b, step)
		}
	}
	if !o.open {
		b.add(200*time.Millisecond, agentscope.Event{Type: agentscope.SessionCompleted, Status: "completed", Output: json.RawMessage(`{"answer":"done"}`),
			Attributes: map[string]any{"model_calls": num(calls + 2), "steps": num(steps)}})
	}
	return b
}

// externalRun builds one session of an external agent that records its
// prompts as ModelInvoked input.
func externalRun(id string, v int) *builder {
	b := newBuilder(id, t0.Add(time.Duration(v)*53*time.Minute))
	b.provider, b.model = "anthropic", "claude-haiku-4"
	b.add(0, agentscope.Event{Type: agentscope.SessionStarted, Agent: "researcher", Input: json.RawMessage(`{"question":"what changed?"}`)})
	for step := range 5 + v%2 {
		input := fmt.Sprintf(`{"messages":[{"role":"user","content":"what changed?"},{"role":"tool","content":"result %d-%d"}]}`, v, step)
		attrs := map[string]any{"temperature": json.Number("0.2"), "stream": true}
		b.modelCall(attrs, input, float64(700+(v*89+step*211)%2500), fmt.Sprintf("%.4f", 0.001+float64((v+step)%4)*0.0003))
		tool := fixtureTools[(v+2*step)%len(fixtureTools)]
		errText := ""
		if step == 2 && v%3 == 0 {
			errText = "timeout after 10s"
		}
		b.toolCall(100*time.Millisecond, tool, toolArgs(tool, v, step), float64(30+(v*23+step*41)%700), errText)
	}
	b.add(150*time.Millisecond, agentscope.Event{Type: agentscope.SessionCompleted, Status: "completed", Output: json.RawMessage(`{"answer":"ok"}`)})
	return b
}

// minimalRun builds a session of an external agent that records only the
// required fields: its model requests cannot be compared.
func minimalRun(id string) *builder {
	b := newBuilder(id, t0)
	b.add(0, agentscope.Event{Type: agentscope.SessionStarted, Agent: "scraper"})
	for step := range 6 {
		b.modelCall(nil, "", 800, "0.0010")
		tool := fixtureTools[step%len(fixtureTools)]
		b.toolCall(100*time.Millisecond, tool, toolArgs(tool, 0, step), 50, "")
	}
	b.add(100*time.Millisecond, agentscope.Event{Type: agentscope.SessionCompleted, Status: "completed"})
	return b
}

// baselineOf builds the baseline of n runs made by gen.
func baselineOf(n int, gen func(i int) *builder) Baseline {
	var sessions [][]agentscope.Event
	for i := range n {
		sessions = append(sessions, gen(i).evs)
	}
	return BuildBaseline(sessions)
}

var (
	managedBase = baselineOf(12, func(i int) *builder {
		return managedRun(fmt.Sprintf("base-m-%02d", i), runOpts{v: i})
	})
	externalBase = baselineOf(10, func(i int) *builder { return externalRun(fmt.Sprintf("base-x-%02d", i), i) })
)

// idsOf returns the ids of b's events of type t, in order, up to and
// including the event upTo ("" for all).
func idsOf(b *builder, t agentscope.EventType, upTo string) []string {
	var out []string
	for _, ev := range b.evs {
		if ev.Type == t {
			out = append(out, ev.EventID)
		}
		if ev.EventID == upTo {
			break
		}
	}
	return out
}
