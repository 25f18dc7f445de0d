package main

import (
	"log/slog"
	"testing"

	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/internal/breaker"
	"github.com/agentscope/agentscope/runtime"
)

// TestGatewayUpstreamNames: the gateway's configured upstreams go by the
// names the runtime gives the same providers (recorded on ModelCompleted,
// priced by, and keying the breakers both share), not by their hosts.
func TestGatewayUpstreamNames(t *testing.T) {
	for _, c := range []struct{ llmBase, anthropicBase, openai, anthropic string }{
		{"", "", "openai", "anthropic"},
		{"http://localhost:11434/v1", "", "ollama", "anthropic"},
		{"https://myco.openai.azure.com/openai", "", "azure_openai", "anthropic"},
		{"http://litellm.internal:4000/v1", "https://api.anthropic.com/v1/", "litellm.internal", "anthropic"},
	} {
		cfg := Config{}
		cfg.Runtime.LLM = runtime.LLMConfig{BaseURL: c.llmBase, APIKey: "sk-test"}
		cfg.Gateway.AnthropicKey, cfg.Gateway.AnthropicBase = "sk-ant-test", c.anthropicBase
		ups := gatewayOptions(&cfg, slog.New(slog.DiscardHandler)).Upstreams
		if len(ups) != 2 || ups[0].API != gateway.OpenAI || ups[0].Name != c.openai || ups[1].API != gateway.Anthropic || ups[1].Name != c.anthropic {
			t.Errorf("AGENTSCOPE_LLM_BASE_URL %q: %d upstreams named %q, %q; want %s and %s", c.llmBase, len(ups), ups[0].Name, ups[len(ups)-1].Name, c.openai, c.anthropic)
		}
		base := c.llmBase
		if base == "" {
			base = runtime.DefaultBaseURL
		}
		// The runtime's default provider has the same breaker key.
		if got, want := breaker.Key(ups[0].Name, ups[0].BaseURL), breaker.Key(runtime.ProviderName(base), base); got != want {
			t.Errorf("breaker key %q, the runtime's %q", got, want)
		}
	}
}
