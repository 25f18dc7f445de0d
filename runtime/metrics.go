package runtime

import (
	"time"

	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/pricing"
)

// countCall tells the metrics of one model call.
func (x *Execution) countCall(e *endpoint, model string, ok bool, took time.Duration, usage *pricing.Usage, cost float64, priced bool) {
	m := x.rt.opts.Metrics
	if m == nil {
		return
	}
	c := metrics.ModelCall{OK: ok, Duration: took, CostUSD: cost, Priced: priced}
	c.Provider, c.Model = x.rt.opts.Pricing.Labels(e.name, model)
	if usage != nil {
		c.InputTokens, c.OutputTokens, c.CacheReadTokens = usage.InputTokens, usage.OutputTokens, usage.CacheReadTokens
	}
	m.ModelCalled(c)
}
