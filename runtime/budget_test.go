package runtime_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
)

// oneCall is a model answer costing exactly $0.00154 on gpt-4.1: 200
// uncached input tokens at $2, 1000 cached at $0.50 and 80 output at $8 per
// million.
var oneCall = llmtest.Usage{PromptTokens: 1200, CachedTokens: 1000, CompletionTokens: 80}

// TestAdmissionCountsExternalSpend records a self-reported cost for an
// agent, then makes it managed with a hard cap below that spend: start_run
// is refused with the spend and the limit, and nothing is created.
func TestAdmissionCountsExternalSpend(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, b.prepare(t), config{workers: 1})
			ctx := n.ctx()
			if _, err := n.svc.StartRun(ctx, service.StartRunInput{Agent: "mixed", SessionID: "ext"}); err != nil {
				t.Fatal(err)
			}
			if res, err := n.svc.Record(ctx, "ext", []json.RawMessage{[]byte(`{"type":"CostRecorded","amount_usd":0.002}`)}); err != nil || !res[0].Accepted {
				t.Fatalf("record cost: %+v %v", res, err)
			}
			def, _ := json.Marshal(analyst)
			if _, err := n.svc.UpdateAgent(ctx, "mixed", def); err != nil {
				t.Fatal(err)
			}
			if _, err := n.svc.SetBudget(ctx, agentscope.AgentCostBudget{Agent: "mixed", Period: agentscope.PeriodDay, LimitUSD: usd("0.001"), HardCap: true}); err != nil {
				t.Fatal(err)
			}
			_, err := n.svc.StartRun(ctx, service.StartRunInput{Agent: "mixed", SessionID: "refused", Input: json.RawMessage(`"x"`)})
			if agentscope.ErrorCode(err) != agentscope.EFORBIDDEN || !strings.Contains(err.Error(), `agent "mixed" has reached its hard cap: spent $0.002 of its $0.001 day budget since `) {
				t.Fatalf("start_run over the cap: %v", err)
			}
			if _, err := n.store.GetRun(ctx, org, "refused"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				t.Errorf("the refused run exists: %v", err)
			}
			st, err := n.svc.GetBudgets(ctx, "mixed")
			if err != nil || len(st) != 1 || st[0].SpentUSD.String() != "0.002" || !st[0].Exceeded {
				t.Errorf("budget status %+v %v", st, err)
			}
		})
	}
}

// TestHardCapStopsRunningAgent lets a run cross its hard cap: it stops
// before its next model call with BudgetExceeded, and fails.
func TestHardCapStopsRunningAgent(t *testing.T) {
	t.Parallel()
	llm := llmtest.New()
	defer llm.Close()
	search := llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: "splunk_context_search", Arguments: `{"query":"type=RunQueued"}`}}, Usage: oneCall}
	llm.Script(search, search, search)
	open := backends()[0].prepare(t)
	probe, _ := open(t)
	n := newNode(t, open, config{workers: 1, llm: llm, searcher: &storeSearcher{store: probe}})
	n.createAgent(t, "spender", analyst)
	if _, err := n.svc.SetBudget(n.ctx(), agentscope.AgentCostBudget{Agent: "spender", Period: agentscope.PeriodMonth, LimitUSD: usd("0.003"), HardCap: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.SetBudget(n.ctx(), agentscope.AgentCostBudget{Agent: "spender", Period: agentscope.PeriodDay, LimitUSD: usd("0.001")}); err != nil {
		t.Fatal(err)
	}
	n.start(t, "spender", "cap", "spend")
	run := n.wait(t, "cap", 10*time.Second)
	evs := n.events(t, "cap")
	// Two calls ($0.00308) pass the $0.003 cap; the third is not made. The
	// soft $0.001 day budget warns once, after the first call.
	want := "RunQueued RunStarted SessionStarted ModelInvoked ModelCompleted CostRecorded BudgetWarning ToolCalled ToolReturned " +
		"ModelInvoked ModelCompleted CostRecorded ToolCalled ToolReturned BudgetExceeded RunFailed SessionCompleted"
	if run.Status != agentscope.StatusFailed || types(evs) != want {
		t.Fatalf("run %s, timeline\n got %s\nwant %s", run.Status, types(evs), want)
	}
	ex := find(evs, agentscope.BudgetExceeded)[0]
	if attr(ex, "spent_usd") != "0.00308" || attr(ex, "limit_usd") != "0.003" || attr(ex, "period") != "month" || !strings.Contains(ex.Error, "stops before its next model call") {
		t.Errorf("BudgetExceeded %+v", ex)
	}
	if w := find(evs, agentscope.BudgetWarning)[0]; attr(w, "spent_usd") != "0.00154" || attr(w, "hard_cap") != "false" {
		t.Errorf("BudgetWarning %+v", w)
	}
	if len(llm.Requests()) != 2 || run.CostUSD.String() != "0.00308" || !strings.Contains(run.Error, "$0.00308 of its $0.003 month hard budget") {
		t.Errorf("%d calls, cost %s, error %q", len(llm.Requests()), run.CostUSD, run.Error)
	}
	// The next run is refused at admission.
	if _, err := n.svc.StartRun(n.ctx(), service.StartRunInput{Agent: "spender", Input: json.RawMessage(`"again"`)}); agentscope.ErrorCode(err) != agentscope.EFORBIDDEN {
		t.Errorf("start_run after the cap: %v", err)
	}
}

// TestConcurrentAdmissions races 50 start_runs of one agent from several
// processes against a hard cap. Each run costs exactly its estimate, so the
// cap admits seven runs ($0.01078 > $0.01 ≥ 6 × $0.00154) and the spend
// exceeds the cap by less than one run's worth, however admissions and
// executions interleave.
func TestConcurrentAdmissions(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			llm := llmtest.New()
			defer llm.Close()
			llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "done", Usage: oneCall} })
			open := b.prepare(t)
			nodes := []*node{newNode(t, open, config{workers: 4, llm: llm}), newNode(t, open, config{workers: 4, llm: llm}), newNode(t, open, config{llm: llm})}
			estimate := usd("0.00154")
			spec := analyst
			spec.Tools = nil
			spec.Limits.RunCostEstimateUSD = &estimate
			nodes[0].createAgent(t, "capped", spec)
			limit := usd("0.01")
			if _, err := nodes[0].svc.SetBudget(nodes[0].ctx(), agentscope.AgentCostBudget{Agent: "capped", Period: agentscope.PeriodDay, LimitUSD: limit, HardCap: true}); err != nil {
				t.Fatal(err)
			}
			var (
				mu       sync.Mutex
				admitted []string
				wg       sync.WaitGroup
			)
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n := nodes[i%len(nodes)]
					sid := fmt.Sprintf("c%02d", i)
					_, err := n.svc.StartRun(n.ctx(), service.StartRunInput{Agent: "capped", SessionID: sid, Input: json.RawMessage(`"go"`)})
					switch {
					case err == nil:
						mu.Lock()
						admitted = append(admitted, sid)
						mu.Unlock()
					case agentscope.ErrorCode(err) == agentscope.EFORBIDDEN && strings.Contains(err.Error(), "hard cap"):
					default:
						t.Errorf("start_run %s: %v", sid, err)
					}
				}()
			}
			wg.Wait()
			for _, sid := range admitted {
				if r := nodes[0].wait(t, sid, 20*time.Second); r.Status != agentscope.StatusCompleted {
					t.Errorf("%s: %s %s", sid, r.Status, r.Error)
				}
			}
			spent, err := nodes[0].store.AgentSpend(nodes[0].ctx(), org, "capped", agentscope.PeriodDay.Start(time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if len(admitted) != 7 || spent > limit+estimate {
				t.Errorf("admitted %d runs, spent %s against a cap of %s", len(admitted), spent, limit)
			}
		})
	}
}
