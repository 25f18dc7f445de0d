package web

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web/ui"
)

// maxBars caps the spans drawn on a waterfall; the event list has the rest.
const maxBars = 1000

// span is a model turn or a tool call being assembled from its events.
type span struct {
	kind, label, detail string
	start, end          time.Time
	ended               bool
	durMS               float64
	hasDur              bool
	tokIn, tokOut       int64
	cost                agentscope.USD
	// priced: a CostRecorded was attached (even of $0); computed: one of
	// them was computed from the pricing table.
	priced, computed bool
	err              string
	fromSeq, toSeq   int64
	id, parentID     string
	// asker is the model turn that completed last before this tool call:
	// its parent when the event names none.
	asker    *span
	children []*span
	nested   bool
}

// timelineBuilder pairs a session's events into spans: ModelInvoked with
// ModelCompleted by span_id, or in order when they carry none; ToolCalled
// with ToolReturned by call_id. A completion without its start becomes a
// span that began duration_ms before it.
type timelineBuilder struct {
	spans      []*span
	byID       map[string]*span
	byEvent    map[string]*span // model turns by their ModelCompleted's event_id
	openModels []*span          // invoked without span_id, oldest first
	openTools  map[string]*span
	lastModel  *span
	errors     int
	runFailed  bool
	totals     ui.Totals
	first      time.Time
	last       time.Time
}

func newTimelineBuilder() *timelineBuilder {
	return &timelineBuilder{byID: map[string]*span{}, byEvent: map[string]*span{}, openTools: map[string]*span{}}
}

func (b *timelineBuilder) add(ev *agentscope.Event) {
	// Annotations (an investigation's report link, an alert) may be recorded
	// long after the session ended; they are not its activity, so they do not
	// stretch its duration.
	if spec, _ := agentscope.LookupEventType(ev.Type); !spec.AfterEnd {
		if b.first.IsZero() || ev.TS.Before(b.first) {
			b.first = ev.TS
		}
		if ev.TS.After(b.last) {
			b.last = ev.TS
		}
	}
	switch ev.Type {
	case agentscope.ModelInvoked:
		sp := &span{kind: "model", label: ev.Model, detail: ev.Provider, start: ev.TS, fromSeq: ev.Seq, toSeq: ev.Seq, id: ev.SpanID, parentID: ev.ParentSpanID}
		b.track(sp)
		if ev.SpanID == "" {
			b.openModels = append(b.openModels, sp)
		}
	case agentscope.ModelCompleted:
		sp := b.openModel(ev)
		if sp == nil {
			sp = &span{kind: "model", label: ev.Model, detail: ev.Provider, fromSeq: ev.Seq, id: ev.SpanID, parentID: ev.ParentSpanID}
			sp.start = ev.TS.Add(-msDuration(ev.DurationMS))
			b.track(sp)
		}
		b.finish(sp, ev)
		sp.tokIn, sp.tokOut = deref(ev.TokensIn), deref(ev.TokensOut)
		if ev.Error != "" || ev.FinishReason == "error" {
			sp.err = cmp.Or(ev.Error, "finish_reason error")
		}
		b.byEvent[ev.EventID] = sp
		b.totals.ModelCalls++
		b.totals.TokensIn += sp.tokIn
		b.totals.TokensOut += sp.tokOut
		b.lastModel = sp
	case agentscope.ToolCalled:
		sp := &span{kind: "tool", label: ev.Tool, detail: ev.CallID, start: ev.TS, fromSeq: ev.Seq, toSeq: ev.Seq, id: ev.SpanID, parentID: ev.ParentSpanID, asker: b.lastModel}
		b.track(sp)
		b.openTools[ev.CallID] = sp
	case agentscope.ToolReturned:
		sp := b.openTools[ev.CallID]
		delete(b.openTools, ev.CallID)
		if sp == nil {
			sp = &span{kind: "tool", label: ev.Tool, detail: ev.CallID, fromSeq: ev.Seq, id: ev.SpanID, parentID: ev.ParentSpanID, asker: b.lastModel}
			sp.start = ev.TS.Add(-msDuration(ev.DurationMS))
			b.track(sp)
		}
		b.finish(sp, ev)
		if ev.Status == "error" || ev.Error != "" {
			sp.err = cmp.Or(ev.Error, "status error")
		}
		b.totals.ToolCalls++
	case agentscope.CostRecorded:
		if ev.AmountUSD == nil {
			break
		}
		computed := strings.HasPrefix(ev.Source, service.ComputedSourcePrefix)
		if computed {
			b.totals.Computed += *ev.AmountUSD
		}
		// A computed cost names its call's event (it is recorded at the
		// session's end, after every call, so "the last model turn" would
		// be the wrong one for a call without a span_id).
		var sp *span
		if id, _ := ev.Attributes["model_event_id"].(string); computed && id != "" {
			sp = b.byEvent[id]
		}
		if sp == nil && ev.SpanID != "" {
			sp = b.byID[ev.SpanID]
		}
		if sp == nil {
			sp = b.lastModel
		}
		if sp != nil {
			sp.cost += *ev.AmountUSD
			sp.priced = true
			sp.computed = sp.computed || computed
		}
	case agentscope.RunFailed:
		b.errors++
		b.runFailed = true
	case agentscope.SessionCompleted:
		if ev.Status == string(agentscope.StatusFailed) && !b.runFailed {
			b.errors++
		}
	}
}

func (b *timelineBuilder) track(sp *span) {
	b.spans = append(b.spans, sp)
	if sp.id != "" {
		if _, taken := b.byID[sp.id]; !taken {
			b.byID[sp.id] = sp
		}
	}
}

// openModel finds the invocation a ModelCompleted ends.
func (b *timelineBuilder) openModel(ev *agentscope.Event) *span {
	if ev.SpanID != "" {
		if sp := b.byID[ev.SpanID]; sp != nil && sp.kind == "model" && !sp.ended {
			return sp
		}
		return nil
	}
	if len(b.openModels) == 0 {
		return nil
	}
	sp := b.openModels[0]
	b.openModels = b.openModels[1:]
	return sp
}

func (b *timelineBuilder) finish(sp *span, ev *agentscope.Event) {
	sp.end, sp.ended, sp.toSeq = ev.TS, true, ev.Seq
	if ev.DurationMS != nil {
		sp.durMS, sp.hasDur = *ev.DurationMS, true
	}
	if sp.end.After(b.last) {
		b.last = sp.end
	}
}

// build lays the spans out on a common time axis, nested by parent_span_id
// (or under the model turn that asked for a tool call, when the tool call
// names no parent).
func (b *timelineBuilder) build(run agentscope.Run) ui.Timeline {
	t := ui.Timeline{Run: run, Totals: b.totals}
	t.Totals.Cost, t.Totals.Events = run.CostUSD, run.EventCount
	t0, t1 := b.first, b.last
	for _, sp := range b.spans {
		if !sp.start.IsZero() && sp.start.Before(t0) {
			t0 = sp.start
		}
		if sp.err != "" {
			b.errors++
		}
		if sp.kind == "model" && sp.ended && !sp.priced {
			// Neither reported nor priced from the table. While a
			// self-reported session runs, such a call may still be priced
			// when it ends.
			if !run.Managed && !run.Status.Terminal() {
				t.Totals.Pending++
			} else {
				t.Totals.Unpriced++
			}
		}
	}
	t.Totals.Errors = b.errors
	total := float64(t1.Sub(t0).Microseconds()) / 1000
	t.Totals.DurationMS, t.SpanMS, t.T0 = total, total, t0.UnixMicro()
	var roots []*span
	for _, sp := range b.spans {
		parent := b.byID[sp.parentID]
		if sp.parentID == "" {
			parent = sp.asker
		}
		if parent != nil && parent != sp && parent.fromSeq < sp.fromSeq {
			parent.children = append(parent.children, sp)
			sp.nested = true
			continue
		}
		roots = append(roots, sp)
	}
	scale := 100 / max(total, 0.001)
	var walk func(list []*span, depth int)
	walk = func(list []*span, depth int) {
		slices.SortStableFunc(list, func(x, y *span) int {
			return cmp.Or(x.start.Compare(y.start), cmp.Compare(x.fromSeq, y.fromSeq))
		})
		for _, sp := range list {
			if len(t.Bars) >= maxBars {
				t.Hidden++
			} else {
				t.Bars = append(t.Bars, bar(sp, depth, t0, t1, scale))
			}
			walk(sp.children, depth+1)
		}
	}
	walk(roots, 0)
	for i := 0; i <= 4; i++ {
		t.Ticks = append(t.Ticks, ui.Tick{Pct: float64(i) * 25, Label: ui.Millis(total * float64(i) / 4)})
	}
	t.Ticks[0].Label = "0"
	return t
}

func bar(sp *span, depth int, t0, t1 time.Time, scale float64) ui.SpanBar {
	end := sp.end
	if !sp.ended {
		end = t1
	}
	dur := sp.durMS
	if !sp.hasDur {
		dur = float64(end.Sub(sp.start).Microseconds()) / 1000
	}
	startMS := float64(sp.start.Sub(t0).Microseconds()) / 1000
	left := min(startMS*scale, 99.7)
	width := min(max(dur*scale, 0.3), 100-left)
	return ui.SpanBar{
		Kind: sp.kind, Label: cmp.Or(sp.label, sp.kind), Detail: sp.detail, Depth: min(depth, 8),
		LeftPct: left, WidthPct: width, DurationMS: dur,
		TokensIn: sp.tokIn, TokensOut: sp.tokOut, Cost: sp.cost, CostComputed: sp.computed, Error: sp.err, Open: !sp.ended,
		FromSeq: sp.fromSeq, ToSeq: sp.toSeq, OffsetS: ui.Millis(startMS),
	}
}

func msDuration(ms *float64) time.Duration {
	if ms == nil {
		return 0
	}
	return time.Duration(*ms * float64(time.Millisecond))
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
