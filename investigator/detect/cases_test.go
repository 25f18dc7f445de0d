package detect

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// detectorCase is a session with exactly one instance of a pattern (or
// none, when kind is empty) and the events that show it.
type detectorCase struct {
	name string
	b    *builder
	base Baseline
	cfg  Config
	kind Kind
	want []string // evidence event ids
}

// roomyBudget is far from its limit throughout a clean run.
var roomyBudget = agentscope.BudgetStatus{
	AgentCostBudget: agentscope.AgentCostBudget{Agent: "planner", Period: agentscope.PeriodDay, LimitUSD: *usd("100")},
	PeriodStart:     t0, SpentUSD: *usd("12.5"),
}

// hostileTool is a tool name made of SPL syntax.
const hostileTool = `search" | delete | where tool="*\`

func detectorCases() []detectorCase {
	var cases []detectorCase
	add := func(c detectorCase) { cases = append(cases, c) }
	base := Config{Index: "agentscope", Budgets: []agentscope.BudgetStatus{roomyBudget}}

	// Clean runs: no finding at all.
	add(detectorCase{name: "clean_managed", b: managedRun("clean-m", runOpts{v: 12}), base: managedBase, cfg: base})
	add(detectorCase{name: "clean_managed_expected_model", b: managedRun("clean-me", runOpts{v: 13}), base: managedBase,
		cfg: Config{ExpectedProvider: "openai", ExpectedModel: "gpt-4.1", Budgets: base.Budgets}})
	add(detectorCase{name: "clean_external", b: externalRun("clean-x", 11), base: externalBase, cfg: base})
	{
		b := managedRun("clean-run", runOpts{v: 4, open: true})
		cfg := base
		cfg.Running, cfg.Now = true, b.ts.Add(90*time.Second)
		add(detectorCase{name: "clean_running", b: b, base: managedBase, cfg: cfg})
	}
	// Costlier than any baseline run ($0.0245) but under 3 × the median
	// ($0.063): not a spike.
	add(detectorCase{name: "clean_cost_above_baseline_max", b: managedRun("clean-cost", runOpts{v: 12, inject: func(b *builder, step int) {
		if step == 5 {
			b.cost("0.0150")
		}
	}}), base: managedBase, cfg: base})
	add(detectorCase{name: "clean_minimal_events", b: minimalRun("clean-min"), cfg: base})
	add(detectorCase{name: "clean_no_baseline", b: managedRun("clean-nb", runOpts{v: 5}), cfg: base})

	// loop: the same arguments, in another key order and spacing.
	{
		var want []string
		b := managedRun("loop-tool", runOpts{v: 1, inject: func(b *builder, step int) {
			if step == 1 {
				for _, args := range []string{`{"q":"acme 10-K","limit":5}`, `{"limit":5,"q":"acme 10-K"}`, `{ "q": "acme 10-K", "limit": 5 }`} {
					id, _ := b.toolCall(2*time.Second, "search", args, 300, "")
					want = append(want, id)
				}
			}
		}})
		add(detectorCase{name: "loop_tool", b: b, base: managedBase, cfg: base, kind: KindLoop, want: want})
	}
	{
		var want []string
		b := managedRun("loop-escaped", runOpts{v: 2, inject: func(b *builder, step int) {
			if step == 0 {
				for range 3 {
					id, _ := b.toolCall(time.Second, hostileTool, `{"x":1}`, 100, "")
					want = append(want, id)
				}
			}
		}})
		add(detectorCase{name: "loop_tool_hostile_name", b: b, base: managedBase, cfg: base, kind: KindLoop, want: want})
	}
	{
		var want []string
		b := externalRun("loop-model", 3)
		b.evs = b.evs[:len(b.evs)-1] // reopen: drop SessionCompleted
		input := `{"messages":[{"role":"user","content":"what changed?"},{"role":"tool","content":"same again"}]}`
		for range 3 {
			id, _ := b.modelCall(map[string]any{"temperature": json.Number("0.2"), "stream": true}, input, 800, "0.0010")
			want = append(want, id)
		}
		b.add(time.Second, agentscope.Event{Type: agentscope.SessionCompleted, Status: "failed", Error: "gave up"})
		add(detectorCase{name: "loop_model", b: b, base: externalBase, cfg: base, kind: KindLoop, want: want})
	}

	// retry_storm.
	{
		var want []string
		b := managedRun("storm-tool", runOpts{v: 1, inject: func(b *builder, step int) {
			if step == 4 {
				for range 5 {
					_, id := b.toolCall(8*time.Second, "fetch", `{"url":"https://example.com/down"}`, 120, "connection reset by peer")
					want = append(want, id)
				}
			}
		}})
		add(detectorCase{name: "retry_storm_tool", b: b, base: managedBase, cfg: base, kind: KindRetryStorm, want: want})
	}
	{
		var want []string
		b := managedRun("storm-provider", runOpts{v: 3, inject: func(b *builder, step int) {
			if step == 5 {
				for i := range 5 {
					b.invoke(stepAttrs(6, 20+i), "")
					want = append(want, b.complete(900, "529 overloaded"))
					b.ts = b.ts.Add(9 * time.Second)
				}
			}
		}})
		add(detectorCase{name: "retry_storm_provider", b: b, base: managedBase, cfg: base, kind: KindRetryStorm, want: want})
	}
	{
		// Five failures, but spread over more than a minute: no storm.
		b := managedRun("storm-slow", runOpts{v: 1, inject: func(b *builder, step int) {
			if step == 4 {
				for i := range 16 {
					b.toolCall(20*time.Second, "fetch", fmt.Sprintf(`{"url":"https://example.com/p/%d"}`, i), 120, "")
				}
				for i := range 5 {
					b.toolCall(16*time.Second, "fetch", fmt.Sprintf(`{"url":"https://example.com/down/%d"}`, i), 120, "connection reset by peer")
				}
			}
		}})
		add(detectorCase{name: "clean_failures_spread_out", b: b, base: managedBase, cfg: base})
	}

	// provider_switch.
	{
		var want []string
		b := managedRun("switch", runOpts{v: 6, inject: func(b *builder, step int) {
			if step == 5 {
				prev := idsOf(b, agentscope.ModelCompleted, "")
				provider, model := b.provider, b.model
				b.provider, b.model = "google", "gemini-2.5-pro"
				id, _ := b.modelCall(stepAttrs(5, 13), "", 1500, "0.0030")
				want = []string{prev[len(prev)-1], id}
				b.provider, b.model = provider, model
			}
		}})
		add(detectorCase{name: "provider_switch_unexplained", b: b, base: managedBase, cfg: base, kind: KindProviderSwitch, want: want})
	}
	{
		b := managedRun("switch-config", runOpts{v: 7})
		add(detectorCase{name: "provider_switch_configured", b: b, base: managedBase,
			cfg:  Config{ExpectedProvider: "openai", ExpectedModel: "gpt-4.1-mini"},
			kind: KindProviderSwitch, want: idsOf(b, agentscope.ModelInvoked, "")[:1]})
	}

	// cost_spike: one expensive call.
	{
		var spike string
		b := managedRun("cost", runOpts{v: 8, inject: func(b *builder, step int) {
			if step == 4 {
				b.invoke(stepAttrs(4, 11), "")
				b.complete(2500, "")
				spike = b.cost("0.4500")
			}
		}})
		add(detectorCase{name: "cost_spike", b: b, base: managedBase, cfg: base, kind: KindCostSpike, want: idsOf(b, agentscope.CostRecorded, spike)})
	}

	// latency_slo: one call of 45 s among a few.
	{
		var slow string
		b := managedRun("latency", runOpts{v: 9, inject: func(b *builder, step int) {
			if step == 4 {
				b.invoke(stepAttrs(4, 11), "")
				slow = b.complete(45000, "")
				b.cost("0.0040")
			}
		}})
		add(detectorCase{name: "latency_slo", b: b, base: managedBase, cfg: base, kind: KindLatencySLO, want: []string{slow}})
	}

	// tool_error_rate: 2 failures in 4 calls of one tool.
	{
		var want []string
		b := managedRun("tool-errors", runOpts{v: 10, inject: func(b *builder, step int) {
			if step == 1 || step == 2 || step == 3 || step == 5 {
				errText := ""
				if step == 2 || step == 5 {
					errText = "syntax error at or near \"FROM\""
				}
				_, id := b.toolCall(time.Second, "sql_query", `{"sql":"select 1"}`, 80, errText)
				if errText != "" {
					want = append(want, id)
				}
			}
		}})
		add(detectorCase{name: "tool_error_rate", b: b, base: managedBase, cfg: base, kind: KindToolErrorRate, want: want})
	}

	// stall: seven silent minutes mid-run.
	{
		var want []string
		b := managedRun("stall", runOpts{v: 11, inject: func(b *builder, step int) {
			if step == 4 {
				before := b.lastID()
				id, _ := b.toolCall(7*time.Minute, "fetch", `{"url":"https://example.com/slow"}`, 200, "")
				want = []string{before, id}
			}
		}})
		add(detectorCase{name: "stall", b: b, base: managedBase, cfg: base, kind: KindStall, want: want})
	}
	{
		b := managedRun("stall-open", runOpts{v: 3, open: true})
		cfg := base
		cfg.Running, cfg.Now = true, b.ts.Add(12*time.Minute)
		add(detectorCase{name: "stall_open", b: b, base: managedBase, cfg: cfg, kind: KindStall, want: []string{b.lastID()}})
	}

	// budget_proximity: a $0.10 call takes the day's spend from 70% to
	// over 80% of $1.
	{
		var cross string
		b := managedRun("budget", runOpts{v: 2, inject: func(b *builder, step int) {
			if step == 5 {
				b.invoke(stepAttrs(5, 13), "")
				b.complete(2000, "")
				cross = b.cost("0.1000")
			}
		}})
		budget := agentscope.BudgetStatus{
			AgentCostBudget: agentscope.AgentCostBudget{Agent: "planner", Period: agentscope.PeriodDay, LimitUSD: *usd("1")},
			PeriodStart:     t0, SpentUSD: *usd("0.70"),
		}
		add(detectorCase{name: "budget_proximity", b: b, cfg: Config{Budgets: []agentscope.BudgetStatus{budget}},
			kind: KindBudgetProximity, want: []string{cross}})
	}

	// schema_drift.
	{
		var id string
		b := managedRun("schema-new", runOpts{v: 4, inject: func(b *builder, step int) {
			if step == 5 {
				attrs := stepAttrs(5, 13)
				attrs["trace_id"] = "4bf92f3577b34da6"
				id, _ = b.modelCall(attrs, "", 1100, "0.0020")
			}
		}})
		add(detectorCase{name: "schema_drift_new_key", b: b, base: managedBase, cfg: base, kind: KindSchemaDrift, want: []string{id}})
	}
	{
		var id string
		b := managedRun("schema-missing", runOpts{v: 5, inject: func(b *builder, step int) {
			if step == 1 {
				id, _ = b.modelCall(map[string]any{"step": num(1), "messages": num(5)}, "", 1100, "0.0020")
			}
		}})
		add(detectorCase{name: "schema_drift_missing_key", b: b, base: managedBase, cfg: base, kind: KindSchemaDrift, want: []string{id}})
	}
	return cases
}
