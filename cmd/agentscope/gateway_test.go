package main

import (
	"log/slog"
	"slices"
	"strings"
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

// TestGatewayUpstreamsFromProviders: with AGENTSCOPE_LLM_PROVIDERS the
// gateway's OpenAI-compatible upstreams are that list in its order, each
// with its own key; one without a key, and Azure OpenAI's, are left out.
func TestGatewayUpstreamsFromProviders(t *testing.T) {
	env := map[string]string{"AGENTSCOPE_LLM_API_KEY": "sk-default", "OR_KEY": "sk-or",
		"AGENTSCOPE_LLM_PROVIDERS": `[{"name":"main"},{"base_url":"https://openrouter.ai/api/v1","api_key_env":"OR_KEY"},{"name":"nokey","base_url":"http://x.example/v1","api_key_env":"MISSING_KEY"},{"name":"az","api_type":"azure","base_url":"https://a.openai.azure.com/"}]`}
	var r runtimeSettings
	if err := r.read(func(k string) string { return env[k] }, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Runtime: r}
	ups := gatewayOptions(&cfg, slog.New(slog.DiscardHandler)).Upstreams
	type up struct{ name, base, key string }
	var got []up
	for _, u := range ups {
		got = append(got, up{u.Name, u.BaseURL, u.APIKey})
	}
	want := []up{{"main", runtime.DefaultBaseURL, "sk-default"}, {"openrouter", "https://openrouter.ai/api/v1", "sk-or"}}
	if !slices.Equal(got, want) {
		t.Fatalf("upstreams %v, want %v", got, want)
	}
}

// TestParseProviders: AGENTSCOPE_LLM_PROVIDERS is decoded strictly, and
// each error names what is wrong.
func TestParseProviders(t *testing.T) {
	for v, want := range map[string]string{
		`{"name":"x"}`:                    "must be a JSON array of providers",
		`[{"name":"x","api_key":"sk-1"}]`: `unknown field "api_key"`,
		`[]`:                              "lists no provider",
		`[{"api_key_env":"sk-abc-def"}]`:  "AGENTSCOPE_LLM_PROVIDERS[0].api_key_env",
		`[{},{"base_url":"ftp://x"}]`:     "AGENTSCOPE_LLM_PROVIDERS[1].base_url",
		`[{"api_type":"azure"}]`:          "AGENTSCOPE_LLM_PROVIDERS[0].base_url",
		`[{"name":"a"}] [{"name":"b"}]`:   "more than one JSON value",
	} {
		if _, err := parseProviders(v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseProviders(%s) = %v; want an error saying %q", v, err, want)
		}
	}
	ps, err := parseProviders(`[{"name":"openai","api_key_env":"OPENAI_API_KEY"},{"base_url":"http://localhost:11434/v1","model":"llama3"}]`)
	if err != nil || len(ps) != 2 || ps[1].Model != "llama3" {
		t.Fatalf("valid list: %+v, %v", ps, err)
	}
}
