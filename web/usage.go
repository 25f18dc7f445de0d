package web

import (
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web/ui"
)

// usageCharts draws a session's running cost (CostRecorded amounts) and
// tokens (ModelCompleted input and output) over the events read; nil when
// the session has neither.
func usageCharts(evs []agentscope.Event) *ui.UsageCharts {
	var (
		costX, tokX        []time.Time
		cost               []float64
		tokIn, tokOut      []float64
		sumUSD             agentscope.USD
		sumIn, sumOut      float64
		costEvents, models int
	)
	for _, ev := range evs {
		switch {
		case ev.Type == agentscope.CostRecorded && ev.AmountUSD != nil:
			if s, ok := agentscope.AddUSD(sumUSD, *ev.AmountUSD); ok {
				sumUSD = s
			}
			costX, cost = append(costX, ev.TS), append(cost, sumUSD.Float())
			costEvents++
		case ev.Type == agentscope.ModelCompleted && (ev.TokensIn != nil || ev.TokensOut != nil):
			if ev.TokensIn != nil {
				sumIn += float64(*ev.TokensIn)
			}
			if ev.TokensOut != nil {
				sumOut += float64(*ev.TokensOut)
			}
			tokX, tokIn, tokOut = append(tokX, ev.TS), append(tokIn, sumIn), append(tokOut, sumOut)
			models++
		}
	}
	if costEvents == 0 && models == 0 {
		return nil
	}
	u := &ui.UsageCharts{}
	label := func(xs []time.Time) func(time.Time) string {
		span := xs[len(xs)-1].Sub(xs[0])
		return func(t time.Time) string {
			if span < 10*time.Minute {
				return t.UTC().Format("15:04:05")
			}
			return timeLabel(t, span)
		}
	}
	if costEvents > 0 {
		c := ui.NewLineChart(costX, []ui.Series{{Name: "cost (USD)", Values: cost}}, label(costX))
		u.Cost = &c
	}
	if models > 0 {
		c := ui.NewLineChart(tokX, []ui.Series{{Name: "input tokens", Values: tokIn}, {Name: "output tokens", Values: tokOut}}, label(tokX))
		u.Tokens = &c
	}
	u.Summary = fmt.Sprintf("%s over %s cost events; %s input and %s output tokens over %s model calls.",
		ui.Money(sumUSD), ui.Count(costEvents), ui.Count(int64(sumIn)), ui.Count(int64(sumOut)), ui.Count(models))
	return u
}
