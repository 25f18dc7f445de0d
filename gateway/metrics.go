package gateway

import (
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
)

// countModelCall counts a call in the model metrics (tokens, cost,
// latency), as the runtime counts its own: evs are the call's
// ModelCompleted and, when priced, its CostRecorded. Provider and model
// are labelled as the pricing table names them (else "other").
func (g *Gateway) countModelCall(provider, model string, ok bool, took time.Duration, evs []agentscope.Event) {
	if g.opts.Metrics == nil {
		return
	}
	c := metrics.ModelCall{OK: ok, Duration: took}
	c.Provider, c.Model = g.opts.Pricing.Labels(provider, model)
	for _, ev := range evs {
		switch ev.Type {
		case agentscope.ModelCompleted:
			c.InputTokens, c.OutputTokens, c.CacheReadTokens = deref(ev.TokensIn), deref(ev.TokensOut), deref(ev.CacheReadTokens)
		case agentscope.CostRecorded:
			if ev.AmountUSD != nil {
				c.CostUSD, c.Priced = ev.AmountUSD.Float(), true
			}
		}
	}
	g.opts.Metrics.ModelCalled(c)
}

func deref(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}
