package detect

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// longRun builds a managed run of n events: steps of a model call with its
// cost and a tool call, varied tools and arguments, a failed call now and
// then. It raises no finding against managedBase but runs every detector.
func longRun(id string, n int) *builder {
	b := newBuilder(id, t0)
	b.add(0, agentscope.Event{Type: agentscope.RunQueued, Attributes: map[string]any{"queue": "default", "max_attempts": num(3)}})
	b.add(time.Second, agentscope.Event{Type: agentscope.RunStarted, Attributes: map[string]any{"attempt": num(1), "max_attempts": num(3)}})
	b.add(30*time.Millisecond, agentscope.Event{Type: agentscope.SessionStarted, Agent: "planner"})
	for step := 0; len(b.evs) < n; step++ {
		b.modelCall(stepAttrs(step, 2+2*step), "", float64(900+(step*377)%4200), "0.0001")
		tool := fixtureTools[step%len(fixtureTools)]
		errText := ""
		if step%23 == 7 {
			errText = "HTTP 503 from upstream"
		}
		b.toolCall(150*time.Millisecond, tool, toolArgs(tool, step, step), float64(40+(step*29)%900), errText)
	}
	b.evs = b.evs[:n]
	return b
}

// longBaseline is the baseline of runs like longRun(n): the agent's
// sessions are that long.
func longBaseline(n int) Baseline {
	return baselineOf(6, func(i int) *builder { return longRun(fmt.Sprintf("long-base-%d", i), n) })
}

func BenchmarkDetectors10k(b *testing.B) {
	run := longRun("bench-10k", 10_000)
	base := longBaseline(10_000)
	cfg := Config{Index: "agentscope", Budgets: []agentscope.BudgetStatus{roomyBudget}}
	cfg.Budgets[0].LimitUSD = *usd("1000")
	fs, err := Run(run.id, run.evs, base, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if len(fs) != 0 {
		b.Fatalf("the benchmark session raises findings:\n%s", dump(fs))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(run.id, run.evs, base, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLiveObserve: one op is one committed batch of 32 events of a
// running session; p99-ns/batch is the 99th percentile of the batches'
// times.
func BenchmarkLiveObserve(b *testing.B) {
	const batch = 32
	run := longRun("bench-live", 64*1024)
	base := longBaseline(64 * 1024)
	cfg := Config{Budgets: []agentscope.BudgetStatus{roomyBudget}}
	cfg.Budgets[0].LimitUSD = *usd("100000")
	newLive := func() *Live {
		l, err := NewLive(run.id, base, cfg)
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	l, next := newLive(), 0
	times := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		if next+batch > len(run.evs) {
			b.StopTimer()
			l, next = newLive(), 0
			b.StartTimer()
		}
		start := time.Now()
		if fs := l.Observe(run.evs[next : next+batch]); len(fs) != 0 {
			b.Fatalf("findings:\n%s", dump(fs))
		}
		times = append(times, time.Since(start))
		next += batch
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns/batch")
}

// TestLongRunIsClean keeps the benchmarks' session honest.
func TestLongRunIsClean(t *testing.T) {
	t.Parallel()
	run := longRun("long", 3000)
	if fs, err := Run(run.id, run.evs, longBaseline(3000), Config{}); err != nil || len(fs) != 0 {
		t.Fatalf("%v\n%s", err, dump(fs))
	}
	if n := len(run.evs); n != 3000 {
		t.Fatal(fmt.Sprint(n))
	}
}
