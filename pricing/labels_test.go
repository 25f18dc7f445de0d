package pricing

import "testing"

// Metric labels are a bounded set: providers by well-known or priced name,
// models by the pricing table's name; anything a definition or a client
// makes up is "other".
func TestLabelsAreBounded(t *testing.T) {
	table := Default()
	for _, c := range []struct{ provider, model, wantProvider, wantModel string }{
		{"openai", "gpt-4.1-2025-04-14", "openai", "gpt-4.1"},
		{"OpenAI", "gpt-4.1", "openai", "gpt-4.1"},
		{"my-secret-proxy.internal", "gpt-4.1", "other", "gpt-4.1"},
		{"openai", "acme-private-model-7", "openai", "other"},
		{"ollama", "llama3.2", "ollama", "other"}, // priced by the provider's wildcard: no model name
	} {
		p, m := table.Labels(c.provider, c.model)
		if p != c.wantProvider || m != c.wantModel {
			t.Errorf("Labels(%q, %q) = %q, %q; want %q, %q", c.provider, c.model, p, m, c.wantProvider, c.wantModel)
		}
	}
}
