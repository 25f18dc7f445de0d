package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/runtime"
)

// gatewaySettings are the LLM gateway's settings (serve):
//   - its Anthropic upstream is AGENTSCOPE_ANTHROPIC_API_KEY (or
//     ANTHROPIC_API_KEY) at AGENTSCOPE_ANTHROPIC_BASE_URL (default
//     Anthropic's API); its OpenAI-compatible one is the runtime's default
//     provider (AGENTSCOPE_LLM_BASE_URL, AGENTSCOPE_LLM_API_KEY, or
//     OPENAI_*);
//   - AGENTSCOPE_GATEWAY_OPENAI_URL and AGENTSCOPE_GATEWAY_ANTHROPIC_URL
//     are where a client's own provider key is sent (default the
//     providers' public endpoints);
//   - AGENTSCOPE_GATEWAY_IDLE_TIMEOUT ends the sessions the gateway
//     starts for calls without X-AgentScope-Session-Id (default 30m).
type gatewaySettings struct {
	// AnthropicKey is a secret.
	AnthropicKey, AnthropicBase string
	OpenAIURL, AnthropicURL     string
	IdleTimeout                 time.Duration
}

// readGatewaySettings reads them; provider keys and URLs come from
// providerEnv, as the runtime's do.
func readGatewaySettings(getenv, providerEnv func(string) string) (gatewaySettings, error) {
	first := func(get func(string) string, names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(get(n)); v != "" {
				return v
			}
		}
		return ""
	}
	g := gatewaySettings{
		AnthropicKey:  first(providerEnv, "AGENTSCOPE_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
		AnthropicBase: first(providerEnv, "AGENTSCOPE_ANTHROPIC_BASE_URL"),
		OpenAIURL:     first(getenv, "AGENTSCOPE_GATEWAY_OPENAI_URL"),
		AnthropicURL:  first(getenv, "AGENTSCOPE_GATEWAY_ANTHROPIC_URL"),
		IdleTimeout:   30 * time.Minute,
	}
	for name, u := range map[string]string{"AGENTSCOPE_ANTHROPIC_BASE_URL": g.AnthropicBase, "AGENTSCOPE_GATEWAY_OPENAI_URL": g.OpenAIURL, "AGENTSCOPE_GATEWAY_ANTHROPIC_URL": g.AnthropicURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return g, fmt.Errorf("%s %q is not an http(s) URL such as https://api.anthropic.com/v1", name, u)
		}
	}
	if v := getenv("AGENTSCOPE_GATEWAY_IDLE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return g, fmt.Errorf("AGENTSCOPE_GATEWAY_IDLE_TIMEOUT must be a duration of at least 1s such as 30m (how long the LLM gateway keeps a session without a session header open between calls), got %q", v)
		}
		g.IdleTimeout = d
	}
	return g, nil
}

// gatewayOptions configures serve's LLM gateway. Its OpenAI-compatible
// upstreams are the runtime's providers (AGENTSCOPE_LLM_PROVIDERS, else the
// default one), in their failover order, named and keyed as the runtime
// resolves them, so that both record the same provider names and share a
// circuit breaker per provider. A provider without a key, or of Azure
// OpenAI (whose paths name a deployment, not the API), is left out and
// said in the log; a provider's model is the runtime's: the gateway
// forwards the client's.
func gatewayOptions(cfg *Config, log *slog.Logger) gateway.Options {
	g := cfg.Gateway
	opts := gateway.Options{Pricing: cfg.Runtime.Pricing, Logger: log, OpenAIBaseURL: g.OpenAIURL, AnthropicBaseURL: g.AnthropicURL, IdleTimeout: g.IdleTimeout}
	llm := cfg.Runtime.LLM
	ps := cfg.Runtime.Providers
	if len(ps) == 0 {
		ps = []runtime.ProviderSpec{{}}
	}
	for i, p := range ps {
		base := cmp.Or(p.BaseURL, llm.BaseURL, runtime.DefaultBaseURL)
		name := cmp.Or(p.Name, runtime.ProviderName(base))
		key := llm.APIKey
		if p.APIKeyEnv != "" && cfg.Runtime.ProviderEnv != nil {
			key = strings.TrimSpace(cfg.Runtime.ProviderEnv(p.APIKeyEnv))
		}
		switch {
		case p.APIType == "azure":
			log.Warn("the LLM gateway does not forward to Azure OpenAI: provider left out of its upstreams", "provider", name, "index", i)
			continue
		case key == "":
			if len(cfg.Runtime.Providers) > 0 {
				log.Warn("LLM gateway upstream has no API key: left out", "provider", name, "api_key_env", p.APIKeyEnv)
			}
			continue
		}
		opts.Upstreams = append(opts.Upstreams, gateway.Upstream{Name: name, API: gateway.OpenAI, BaseURL: base, APIKey: key})
	}
	if g.AnthropicKey != "" {
		base := g.AnthropicBase
		if base == "" {
			base = gateway.DefaultAnthropicBaseURL
		}
		opts.Upstreams = append(opts.Upstreams, gateway.Upstream{Name: runtime.ProviderName(base), API: gateway.Anthropic, BaseURL: base, APIKey: g.AnthropicKey})
	}
	return opts
}
