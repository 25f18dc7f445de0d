package pricing

import (
	"slices"
	"strings"
)

// wellKnownProviders are provider names Labels gives as they are; any
// other name is "other" unless the table prices it.
var wellKnownProviders = []string{"openai", "openai_compatible", "anthropic", "azure", "azure_openai", "google", "gemini", "mistral", "ollama", "openrouter", "bedrock", "vllm", "groq", "deepseek", "xai", "together", "fireworks", "cohere"}

// Labels returns the provider and model names of a call as metrics label
// it: a well-known or priced provider name (lower case), else "other";
// the table's name of the model, else "other" (a model priced only by its
// provider's wildcard included). Labels stay a bounded set, and names an
// organisation or a client made up never reach the metrics.
func (t *Table) Labels(provider, model string) (string, string) {
	p := strings.ToLower(provider)
	if !slices.Contains(wellKnownProviders, p) {
		p = "other"
		for _, price := range t.Prices() {
			if strings.EqualFold(price.Provider, provider) {
				p = strings.ToLower(price.Provider)
				break
			}
		}
	}
	m := "other"
	if price, ok := t.Lookup(provider, model); ok && price.Model != "*" {
		m = price.Model
	}
	return p, m
}
