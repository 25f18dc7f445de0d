package runtime

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/pricing"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// BenchmarkRecordingOverhead measures what recording adds to the agent
// loop per model call and per tool call, beyond the call itself: the time
// the loop spends in callOnce's recording (ModelInvoked, then
// ModelCompleted and its priced CostRecorded) and in callTool around a tool
// that answers at once (ToolCalled, ToolReturned), with the journal
// committing to a real store in the background as in a run. It reports the
// p50 and p99 of each (target: p50 ≤ 100 µs).
//
//	go test -run '^$' -bench RecordingOverhead ./runtime/
//	AGENTSCOPE_TEST_DATABASE_URL=postgres://… go test -run '^$' -bench RecordingOverhead ./runtime/
func BenchmarkRecordingOverhead(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			var st *sqlstore.Store
			if name == "sqlite" {
				s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				st = s.Store
			} else {
				s, err := postgres.Open(context.Background(), pgtest.URL(b), sqlstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				st = s.Store
			}
			rec := recorder.New(st, recorder.Options{})
			defer rec.Close()
			if res := st.Append(context.Background(), []agentscope.AppendRequest{{OrgID: "o", SessionID: "s",
				Start:  &agentscope.Run{Agent: "a", Status: agentscope.StatusRunning, Managed: true},
				Events: []agentscope.Event{{Type: agentscope.SessionStarted, Agent: "a"}}}})[0]; res.Err != nil {
				b.Fatal(res.Err)
			}
			rt := &Runtime{opts: Options{Pricing: pricing.Default(), Now: time.Now}, tokens: NewTokenHub()}
			j := newJournal(rec, "o", "s", time.Now)
			defer j.close()
			x := &Execution{rt: rt, org: "o", sid: "s", j: j, budgets: &runBudgets{}}
			e := &endpoint{name: "openai", model: "gpt-4.1"}
			res := chatResult{content: "Thinking about it.", model: "gpt-4.1", finishReason: "tool_calls",
				toolCalls: []openai.ToolCall{{ID: "call_1", Function: openai.FunctionCall{Name: "search", Arguments: `{"query":"index=main error | stats count by host"}`}}},
				usage:     &openai.Usage{PromptTokens: 1200, CompletionTokens: 80, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 1000}}}
			tb := &toolbox{routes: map[string]toolRoute{}}
			ctx := context.Background()
			model := make([]time.Duration, 0, b.N)
			tool := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				if err := j.add(agentscope.Event{Type: agentscope.ModelInvoked, SpanID: "m", Provider: e.name, Model: e.model,
					Attributes: map[string]any{"step": i, "messages": 3, "tools": 1}}); err != nil {
					b.Fatal(err)
				}
				if err := x.recordCall(ctx, e, "m", res, time.Millisecond); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				x.callTool(ctx, "t", "m", res.toolCalls[0], tb, 16<<10)
				t2 := time.Now()
				model, tool = append(model, t1.Sub(t0)), append(tool, t2.Sub(t1))
			}
			b.StopTimer()
			if err := j.flush(ctx); err != nil {
				b.Fatal(err)
			}
			for _, m := range []struct {
				name string
				ds   []time.Duration
			}{{"model-call", model}, {"tool-call", tool}} {
				slices.Sort(m.ds)
				b.ReportMetric(float64(m.ds[len(m.ds)/2].Nanoseconds())/1000, m.name+"-p50-µs")
				b.ReportMetric(float64(m.ds[len(m.ds)*99/100].Nanoseconds())/1000, m.name+"-p99-µs")
			}
		})
	}
}
