package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

func TestTimelinePairsAndNests(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	f := func(v float64) *float64 { return &v }
	n := func(v int64) *int64 { return &v }
	usd := agentscope.USD(12_500_000)
	evs := []agentscope.Event{
		{Seq: 1, Type: agentscope.SessionStarted, TS: at(0)},
		// Two model calls without span ids pair in order.
		{Seq: 2, Type: agentscope.ModelInvoked, TS: at(0), Model: "a"},
		{Seq: 3, Type: agentscope.ModelInvoked, TS: at(10), Model: "b"},
		{Seq: 4, Type: agentscope.ModelCompleted, TS: at(100), Model: "a", DurationMS: f(100), TokensIn: n(10), TokensOut: n(5)},
		{Seq: 5, Type: agentscope.CostRecorded, TS: at(100), AmountUSD: &usd},
		{Seq: 6, Type: agentscope.ModelCompleted, TS: at(200), Model: "b", DurationMS: f(190), TokensIn: n(20), TokensOut: n(7), Error: "overloaded"},
		// A tool call with no parent nests under the turn that completed last;
		// one with parent_span_id under that span.
		{Seq: 7, Type: agentscope.ToolCalled, TS: at(210), Tool: "x", CallID: "c1"},
		{Seq: 8, Type: agentscope.ModelInvoked, TS: at(220), Model: "c", SpanID: "m3"},
		{Seq: 9, Type: agentscope.ToolCalled, TS: at(230), Tool: "y", CallID: "c2", ParentSpanID: "m3"},
		{Seq: 10, Type: agentscope.ToolReturned, TS: at(260), Tool: "y", CallID: "c2", DurationMS: f(30), Status: "error"},
		{Seq: 11, Type: agentscope.ToolReturned, TS: at(300), Tool: "x", CallID: "c1", DurationMS: f(90), Status: "ok"},
		// A completion with no start began duration_ms before it (and, with
		// no parent named, nests under the turn that completed last).
		{Seq: 12, Type: agentscope.ToolReturned, TS: at(400), Tool: "z", CallID: "c9", DurationMS: f(50), Status: "ok"},
	}
	b := newTimelineBuilder()
	for i := range evs {
		b.add(&evs[i])
	}
	tl := b.build(agentscope.Run{CostUSD: usd, EventCount: 12})
	type row struct {
		label string
		depth int
		from  int64
		to    int64
		err   bool
		open  bool
	}
	var got []row
	for _, bar := range tl.Bars {
		got = append(got, row{bar.Label, bar.Depth, bar.FromSeq, bar.ToSeq, bar.Error != "", bar.Open})
	}
	want := []row{
		{"a", 0, 2, 4, false, false},
		{"b", 0, 3, 6, true, false},
		{"x", 1, 7, 11, false, false},
		{"z", 1, 12, 12, false, false},
		{"c", 0, 8, 8, false, true},
		{"y", 1, 9, 10, true, false},
	}
	if len(got) != len(want) {
		t.Fatalf("bars %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bar %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if tl.Bars[0].Cost != usd || tl.Totals.TokensIn != 30 || tl.Totals.ModelCalls != 2 || tl.Totals.ToolCalls != 3 || tl.Totals.Errors != 2 || tl.Totals.DurationMS != 400 {
		t.Errorf("totals %+v, first bar cost %v", tl.Totals, tl.Bars[0].Cost)
	}
	if z := tl.Bars[3]; z.LeftPct != 87.5 || z.WidthPct != 12.5 {
		t.Errorf("bar z at %v%% wide %v%%", z.LeftPct, z.WidthPct)
	}
}

func TestFeedCursorAdmit(t *testing.T) {
	t0 := time.Now()
	c := &feedCursor{Mark: t0.UnixMicro(), Seen: map[string]seenSession{"a": {Seq: 2, TS: t0.UnixMicro()}}}
	// Scan order is by ts; within a session seq order wins, whatever the
	// timestamps say.
	batch := []agentscope.Event{
		{SessionID: "a", Seq: 2, TS: t0},
		{SessionID: "b", Seq: 5, TS: t0.Add(1 * time.Millisecond)},
		{SessionID: "a", Seq: 4, TS: t0.Add(2 * time.Millisecond)},
		{SessionID: "a", Seq: 3, TS: t0.Add(3 * time.Millisecond)},
	}
	fresh := c.admit(batch)
	var got []int64
	for _, ev := range fresh {
		got = append(got, ev.Seq)
	}
	if len(got) != 3 || got[0] != 5 || got[1] != 3 || got[2] != 4 {
		t.Fatalf("admitted seqs %v, want [5 3 4]", got)
	}
	if again := c.admit(batch); len(again) != 0 {
		t.Fatalf("admitted twice: %v", again)
	}
	back, err := decodeFeedCursor(c.encode())
	if err != nil || back.Seen["a"].Seq != 4 || back.Seen["b"].Seq != 5 {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	// Advancing far forgets sessions older than the overlap.
	c.advance(t0.Add(2 * feedOverlap))
	if len(c.Seen) != 0 {
		t.Fatalf("kept %v", c.Seen)
	}
	for _, bad := range []string{"", "!!", "eyJtIjowfQ"} {
		if _, err := decodeFeedCursor(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

func TestSummaries(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	n := func(v int64) *int64 { return &v }
	usd := agentscope.USD(12_345_000)
	cases := []struct {
		ev   agentscope.Event
		want string
		err  bool
	}{
		{agentscope.Event{Type: agentscope.ModelCompleted, Model: "gpt", TokensIn: n(12000), TokensOut: n(340), DurationMS: f(1234), FinishReason: "stop"}, "gpt · 12k→340 tokens · 1.23 s · stop", false},
		{agentscope.Event{Type: agentscope.ToolReturned, Tool: "t", Status: "error", DurationMS: f(5), Error: "boom"}, "t · error · 5 ms · boom", true},
		{agentscope.Event{Type: agentscope.ToolCalled, Tool: "t", Arguments: []byte(`{"q":  "a  b"}`)}, `t · {"q": "a b"}`, false},
		{agentscope.Event{Type: agentscope.CostRecorded, AmountUSD: &usd, Model: "gpt"}, "$0.0123 · gpt", false},
		{agentscope.Event{Type: agentscope.CostRecorded, AmountUSD: &usd, Model: "gpt", Source: "computed:agentscope-pricing/2026-11"}, "$0.0123 · gpt · computed from agentscope-pricing/2026-11", false},
		{agentscope.Event{Type: agentscope.SessionCompleted, Status: "failed", Error: "x"}, "failed · x", true},
		{agentscope.Event{Type: agentscope.BudgetWarning, Error: "80% spent"}, "80% spent", false},
		{agentscope.Event{Type: "Alert", Attributes: map[string]any{"severity": "medium", "title": "Organisation Acme has used 82% of its plan's events_per_month (82,000 of 100,000) in 2026-12", "kind": "plan_limit"}},
			"medium · Organisation Acme has used 82% of its plan's events_per_month (82,000 of 100,000) in 2026-12", false},
	}
	for _, c := range cases {
		if got := summarize(&c.ev); got != c.want {
			t.Errorf("%s: %q, want %q", c.ev.Type, got, c.want)
		}
		if got := isErrorEvent(&c.ev); got != c.err {
			t.Errorf("%s: error %v", c.ev.Type, got)
		}
	}
}

// TestDurationEndsAtTheSessionEnd: an investigation's report link recorded
// 45 s after the session ended does not stretch the session's duration.
func TestDurationEndsAtTheSessionEnd(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := []agentscope.Event{
		{Seq: 1, Type: agentscope.SessionStarted, TS: t0},
		{Seq: 2, Type: agentscope.ModelInvoked, TS: t0.Add(100 * time.Millisecond), Model: "m"},
		{Seq: 3, Type: agentscope.SessionCompleted, TS: t0.Add(2 * time.Second), Status: "completed"},
		{Seq: 4, Type: agentscope.InvestigationReported, TS: t0.Add(47 * time.Second)},
	}
	b := newTimelineBuilder()
	for i := range evs {
		b.add(&evs[i])
	}
	if tl := b.build(agentscope.Run{EventCount: 4}); tl.Totals.DurationMS != 2000 {
		t.Errorf("duration %v ms, want 2000 (the report 45 s later is not the session's activity)", tl.Totals.DurationMS)
	}
}

// TestUnpricedCalls: a finished model call with no cost, reported or
// computed, is counted as unpriced once its session ended (or at any time in
// a managed run, whose costs the runtime records as calls complete), and as
// pending while a self-reported session runs (it may be priced at the end);
// one with a cost (by span, or the last model turn for a span-less cost) is
// neither.
func TestUnpricedCalls(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	usd := func(s string) *agentscope.USD { u, _ := agentscope.ParseUSD(s); return &u }
	n := func(v int64) *int64 { return &v }
	evs := []agentscope.Event{
		{Seq: 1, Type: agentscope.SessionStarted, TS: t0},
		{Seq: 2, Type: agentscope.ModelCompleted, TS: t0.Add(time.Second), SpanID: "a", Model: "m", TokensIn: n(1), TokensOut: n(1)},
		{Seq: 3, Type: agentscope.CostRecorded, TS: t0.Add(time.Second), SpanID: "a", AmountUSD: usd("0.1")},
		{Seq: 4, Type: agentscope.ModelCompleted, TS: t0.Add(2 * time.Second), SpanID: "b", Model: "mystery", TokensIn: n(1), TokensOut: n(1)},
	}
	cases := []struct {
		name              string
		run               agentscope.Run
		unpriced, pending int
	}{
		{"ended", agentscope.Run{Status: agentscope.StatusCompleted}, 1, 0},
		{"running", agentscope.Run{Status: agentscope.StatusRunning}, 0, 1},
		{"managed", agentscope.Run{Status: agentscope.StatusRunning, Managed: true}, 1, 0},
	}
	for _, c := range cases {
		b := newTimelineBuilder()
		for i := range evs {
			b.add(&evs[i])
		}
		c.run.CostUSD, c.run.EventCount = *usd("0.1"), 4
		tl := b.build(c.run)
		if tl.Totals.Unpriced != c.unpriced || tl.Totals.Pending != c.pending {
			t.Errorf("%s: unpriced %d pending %d, want %d and %d", c.name, tl.Totals.Unpriced, tl.Totals.Pending, c.unpriced, c.pending)
		}
	}
}

// TestComputedCostsOnTheirCalls: the computed costs recorded at a session's
// end land on the calls they price (named by model_event_id), not on the
// last model turn, even for calls without a span_id; their spans and the
// totals say computed, a reported cost does not.
func TestComputedCostsOnTheirCalls(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	usd := func(s string) *agentscope.USD { u, _ := agentscope.ParseUSD(s); return &u }
	n := func(v int64) *int64 { return &v }
	computed := func(seq int64, model string, amount string) agentscope.Event {
		return agentscope.Event{Seq: seq, Type: agentscope.CostRecorded, TS: t0, AmountUSD: usd(amount), Source: service.ComputedSourcePrefix + "agentscope-pricing/x",
			Attributes: map[string]any{"computed": true, "model_event_id": model}}
	}
	evs := []agentscope.Event{
		{Seq: 1, Type: agentscope.SessionStarted, TS: t0},
		{Seq: 2, EventID: "c1", Type: agentscope.ModelCompleted, TS: t0.Add(time.Second), Model: "m", TokensIn: n(1), TokensOut: n(1)},
		{Seq: 3, EventID: "c2", Type: agentscope.ModelCompleted, TS: t0.Add(2 * time.Second), Model: "m", TokensIn: n(1), TokensOut: n(1)},
		{Seq: 4, EventID: "c3", Type: agentscope.ModelCompleted, TS: t0.Add(3 * time.Second), SpanID: "s3", Model: "m", TokensIn: n(1), TokensOut: n(1)},
		{Seq: 5, Type: agentscope.CostRecorded, TS: t0.Add(3 * time.Second), SpanID: "s3", AmountUSD: usd("1")},
		computed(6, "c1", "0.25"),
		computed(7, "c2", "0.5"),
		{Seq: 8, Type: agentscope.SessionCompleted, TS: t0.Add(4 * time.Second), Status: "completed"},
	}
	b := newTimelineBuilder()
	for i := range evs {
		b.add(&evs[i])
	}
	tl := b.build(agentscope.Run{Status: agentscope.StatusCompleted, CostUSD: *usd("1.75"), EventCount: 8})
	if tl.Totals.Unpriced != 0 || tl.Totals.Computed != *usd("0.75") {
		t.Errorf("unpriced %d, computed %s; want 0 and 0.75", tl.Totals.Unpriced, tl.Totals.Computed)
	}
	var got []string
	for _, bar := range tl.Bars {
		got = append(got, fmt.Sprintf("%s %v", bar.Cost, bar.CostComputed))
	}
	if want := "[0.25 true 0.5 true 1 false]"; fmt.Sprint(got) != want {
		t.Errorf("bars' costs %v, want %s", got, want)
	}
}
