package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web/ui"
)

// maxUsageBuckets is about the most buckets a session's usage charts have.
const maxUsageBuckets = 30

// usageSteps are the bucket sizes the usage charts choose from; longer
// sessions get whole weeks.
var usageSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour,
}

// usageStep is the smallest bucket size that covers span in at most
// maxUsageBuckets buckets.
func usageStep(span time.Duration) time.Duration {
	for _, s := range usageSteps {
		if span < s*maxUsageBuckets {
			return s
		}
	}
	week := 7 * 24 * time.Hour
	return (span/(week*maxUsageBuckets) + 1) * week
}

// stepWords names a bucket size: "1-second", "15-minute", "7-day".
func stepWords(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if d%u.d == 0 {
			return fmt.Sprintf("%d-%s", d/u.d, u.name)
		}
	}
	return fmt.Sprintf("%d-second", d/time.Second)
}

// usageSeries are a session's cost and tokens in time buckets.
type usageSeries struct {
	step    time.Duration
	buckets []time.Time // each bucket's start
	// cost is the cumulative cost at the end of each bucket, in USD;
	// in and out are the tokens of each bucket.
	cost, in, out               []float64
	sumUSD                      agentscope.USD
	sumIn, sumOut               int64
	costEvents, computed, calls int
}

// usageOf buckets a session's events (in seq order): the cost of its
// CostRecorded events, reported or computed, and the input and output
// tokens of its ModelCompleted events. Buckets are of one size, at most
// about maxUsageBuckets of them, from the first such event's to the last.
// No buckets when the session has neither.
func usageOf(evs []agentscope.Event) usageSeries {
	type use struct {
		ts      time.Time
		usd     agentscope.USD
		in, out int64
	}
	var (
		u           usageSeries
		uses        []use
		first, last time.Time
	)
	for _, ev := range evs {
		var x use
		switch {
		case ev.Type == agentscope.CostRecorded && ev.AmountUSD != nil && *ev.AmountUSD > 0:
			s, ok := agentscope.AddUSD(u.sumUSD, *ev.AmountUSD)
			if !ok {
				continue // past what a session can cost: the totals say so
			}
			u.sumUSD, x.usd = s, *ev.AmountUSD
			u.costEvents++
			if strings.HasPrefix(ev.Source, service.ComputedSourcePrefix) {
				u.computed++
			}
		case ev.Type == agentscope.ModelCompleted && (ev.TokensIn != nil || ev.TokensOut != nil):
			if ev.TokensIn != nil && *ev.TokensIn > 0 {
				x.in = *ev.TokensIn
			}
			if ev.TokensOut != nil && *ev.TokensOut > 0 {
				x.out = *ev.TokensOut
			}
			u.sumIn, u.sumOut = u.sumIn+x.in, u.sumOut+x.out
			u.calls++
		default:
			continue
		}
		// A computed cost is recorded at completion, with its model call's
		// time: events are bucketed by time, not by seq.
		x.ts = ev.TS
		uses = append(uses, x)
		if first.IsZero() || x.ts.Before(first) {
			first = x.ts
		}
		if x.ts.After(last) {
			last = x.ts
		}
	}
	if len(uses) == 0 {
		return u
	}
	u.step = usageStep(last.Sub(first))
	start := first.Truncate(u.step)
	n := int(last.Sub(start)/u.step) + 1
	u.buckets = make([]time.Time, n)
	for i := range u.buckets {
		u.buckets[i] = start.Add(time.Duration(i) * u.step)
	}
	cost := make([]agentscope.USD, n)
	u.in, u.out = make([]float64, n), make([]float64, n)
	for _, x := range uses {
		i := int(x.ts.Sub(start) / u.step)
		cost[i] += x.usd // within sumUSD, which did not overflow
		u.in[i] += float64(x.in)
		u.out[i] += float64(x.out)
	}
	u.cost = make([]float64, n)
	var run agentscope.USD
	for i, c := range cost {
		run += c
		u.cost[i] = run.Float()
	}
	return u
}

// usageCharts draws a session's cost and tokens over time (usageOf) with a
// sentence saying what they show; partial when the events are only the
// session's first. A chart is left out when its total is zero, and the
// whole is nil when both are: a session without cost shows no empty chart.
func usageCharts(evs []agentscope.Event, partial bool) *ui.UsageCharts {
	u := usageOf(evs)
	if u.sumUSD == 0 && u.sumIn+u.sumOut == 0 {
		return nil
	}
	label := usageLabel(u.step, u.buckets[len(u.buckets)-1].Sub(u.buckets[0]))
	out := &ui.UsageCharts{Bucket: stepWords(u.step)}
	var said []string
	if u.sumUSD > 0 {
		c := ui.NewMoneyLineChart(u.buckets, []ui.Series{{Name: "cumulative cost", Values: u.cost}}, label)
		out.Cost = &c
		s := fmt.Sprintf("%s over %s %s", ui.Money(u.sumUSD), ui.Count(u.costEvents), plural(u.costEvents, "cost event", "cost events"))
		if u.computed > 0 {
			s += fmt.Sprintf(" (%s computed from the pricing table)", ui.Count(u.computed))
		}
		said = append(said, s)
	}
	if u.sumIn+u.sumOut > 0 {
		c := ui.NewStackedBars(u.buckets, []ui.Series{{Name: "input tokens", Values: u.in}, {Name: "output tokens", Values: u.out}}, label, false)
		out.Tokens = &c
		said = append(said, fmt.Sprintf("%s input and %s output tokens over %s %s", ui.Count(u.sumIn), ui.Count(u.sumOut), ui.Count(u.calls), plural(u.calls, "model call", "model calls")))
	}
	out.Summary = strings.Join(said, "; ") + ", in " + out.Bucket + " buckets."
	if partial {
		out.Summary += fmt.Sprintf(" Only the session's first %s events are counted.", ui.Count(timelineEvents))
	}
	return out
}

// usageLabel formats a bucket's start for a usage chart spanning span.
func usageLabel(step, span time.Duration) func(time.Time) string {
	layout := "15:04"
	switch {
	case step < time.Minute:
		layout = "15:04:05"
	case step >= 24*time.Hour:
		layout = "Jan 2"
	case span > 36*time.Hour:
		layout = "Jan 2 15:04"
	}
	return func(t time.Time) string { return t.UTC().Format(layout) }
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
