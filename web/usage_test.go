package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

func usd(s string) *agentscope.USD {
	u, err := agentscope.ParseUSD(s)
	if err != nil {
		panic(err)
	}
	return &u
}

func tokens(v int64) *int64 { return &v }

// TestUsageOf: a session's cost accumulates, and its tokens are counted,
// per time bucket; a cost computed at completion (a later seq) lands in
// its model call's bucket; a long session gets bigger buckets, not more.
func TestUsageOf(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	evs := []agentscope.Event{
		{Type: agentscope.SessionStarted, TS: t0},
		{Type: agentscope.ModelCompleted, TS: t0.Add(1100 * time.Millisecond), TokensIn: tokens(100), TokensOut: tokens(20)},
		{Type: agentscope.CostRecorded, TS: t0.Add(1100 * time.Millisecond), AmountUSD: usd("0.25")},
		{Type: agentscope.ModelCompleted, TS: t0.Add(3 * time.Second), TokensIn: tokens(50), TokensOut: tokens(5)},
		{Type: agentscope.ModelCompleted, TS: t0.Add(3500 * time.Millisecond), TokensIn: tokens(10)},
		{Type: agentscope.SessionCompleted, TS: t0.Add(4 * time.Second)},
		// computed at completion for the call at 3 s
		{Type: agentscope.CostRecorded, TS: t0.Add(3 * time.Second), AmountUSD: usd("0.5"), Source: service.ComputedSourcePrefix + "agentscope-pricing/x"},
	}
	u := usageOf(evs)
	got := fmt.Sprintf("step %v from %s: cost %v in %v out %v; $%s, %d in, %d out, %d cost events (%d computed), %d calls",
		u.step, u.buckets[0].Format("15:04:05"), u.cost, u.in, u.out, u.sumUSD, u.sumIn, u.sumOut, u.costEvents, u.computed, u.calls)
	want := "step 1s from 10:00:01: cost [0.25 0.25 0.75] in [100 0 60] out [20 0 5]; $0.75, 160 in, 25 out, 2 cost events (1 computed), 3 calls"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// Five hours of calls, one a minute (the last at 4:59): 10-minute buckets.
	var long []agentscope.Event
	for i := range 300 {
		long = append(long, agentscope.Event{Type: agentscope.ModelCompleted, TS: t0.Add(time.Duration(i) * time.Minute), TokensIn: tokens(1), TokensOut: tokens(1)})
	}
	u = usageOf(long)
	if u.step != 10*time.Minute || len(u.buckets) != 30 || u.in[0] != 10 || u.in[29] != 10 || u.cost[29] != 0 {
		t.Errorf("five hours: step %v, %d buckets, in %v, cost %v", u.step, len(u.buckets), u.in, u.cost)
	}
	for _, span := range []time.Duration{0, time.Second, 29 * time.Second, time.Hour, 90 * 24 * time.Hour, 3000 * 24 * time.Hour} {
		step := usageStep(span)
		if n := int(span/step) + 2; n > maxUsageBuckets+1 {
			t.Errorf("span %v: step %v gives up to %d buckets", span, step, n)
		}
	}
}

// TestUsageCharts: the cost line and the token bars with a sentence saying
// what they show; a chart only for what the session has, and none at all
// for a session without cost or tokens (zero amounts included).
func TestUsageCharts(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cost := func(s string, sec int) agentscope.Event {
		return agentscope.Event{Type: agentscope.CostRecorded, TS: t0.Add(time.Duration(sec) * time.Second), AmountUSD: usd(s)}
	}
	call := func(in, out int64, sec int) agentscope.Event {
		return agentscope.Event{Type: agentscope.ModelCompleted, TS: t0.Add(time.Duration(sec) * time.Second), TokensIn: tokens(in), TokensOut: tokens(out)}
	}
	start := agentscope.Event{Type: agentscope.SessionStarted, TS: t0}

	u := usageCharts([]agentscope.Event{start, call(100, 20, 0), cost("0.25", 0), call(50, 5, 20), cost("0.5", 20)}, false)
	if u == nil || u.Cost == nil || u.Tokens == nil {
		t.Fatalf("%+v", u)
	}
	if want := "$0.75 over 2 cost events; 150 input and 25 output tokens over 2 model calls, in 1-second buckets."; u.Summary != want {
		t.Errorf("summary %q\nwant    %q", u.Summary, want)
	}
	if len(u.Cost.Lines) != 1 || len(strings.Fields(u.Cost.Lines[0].Points)) != 21 || u.Cost.YLabels[len(u.Cost.YLabels)-1].Text != "$1.00" {
		t.Errorf("cost line %+v, axis %+v", u.Cost.Lines, u.Cost.YLabels)
	}
	// Two buckets with tokens, two segments (input, output) each.
	if len(u.Tokens.Bars) != 4 || len(u.Tokens.Legend) != 2 || u.Tokens.Bars[0].Title != "input tokens · 10:00:00 · 100" {
		t.Errorf("token bars %+v", u.Tokens.Bars)
	}

	u = usageCharts([]agentscope.Event{start, call(10, 2, 0), cost("0", 1)}, true)
	if u == nil || u.Cost != nil || u.Tokens == nil {
		t.Fatalf("tokens without cost: %+v", u)
	}
	if want := "10 input and 2 output tokens over 1 model call, in 1-second buckets. Only the session's first 20,000 events are counted."; u.Summary != want {
		t.Errorf("summary %q\nwant    %q", u.Summary, want)
	}

	for _, evs := range [][]agentscope.Event{{start}, {start, cost("0", 1), call(0, 0, 2)}, nil} {
		if u := usageCharts(evs, false); u != nil {
			t.Errorf("a session without cost or tokens: %+v", u)
		}
	}
}
