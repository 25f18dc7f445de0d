package runtime

import (
	"slices"
	"strings"
	"time"

	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/pricing"
)

// wellKnownProviders are provider names metrics show as they are; any
// other name an agent's definition gives is "other", as is a model the
// pricing table does not know: labels stay a bounded set, and an
// organisation's own names never reach the metrics.
var wellKnownProviders = []string{"openai", "openai_compatible", "anthropic", "azure", "azure_openai", "google", "gemini", "mistral", "ollama", "openrouter", "bedrock", "vllm", "groq", "deepseek", "xai", "together", "fireworks", "cohere"}

// metricLabels returns the provider and model labels of a call.
func metricLabels(table *pricing.Table, provider, model string) (string, string) {
	p := strings.ToLower(provider)
	if !slices.Contains(wellKnownProviders, p) {
		p = "other"
		for _, price := range table.Prices() {
			if strings.EqualFold(price.Provider, provider) {
				p = strings.ToLower(price.Provider)
				break
			}
		}
	}
	m := "other"
	if price, ok := table.Lookup(provider, model); ok && price.Model != "*" {
		m = price.Model
	}
	return p, m
}

// countCall tells the metrics of one model call.
func (x *Execution) countCall(e *endpoint, model string, ok bool, took time.Duration, usage *pricing.Usage, cost float64, priced bool) {
	m := x.rt.opts.Metrics
	if m == nil {
		return
	}
	c := metrics.ModelCall{OK: ok, Duration: took, CostUSD: cost, Priced: priced}
	c.Provider, c.Model = metricLabels(x.rt.opts.Pricing, e.name, model)
	if usage != nil {
		c.InputTokens, c.OutputTokens, c.CacheReadTokens = usage.InputTokens, usage.OutputTokens, usage.CacheReadTokens
	}
	m.ModelCalled(c)
}
