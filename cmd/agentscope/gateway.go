package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/runtime"
)

// gatewayOptions configures serve's LLM gateway from the environment:
//   - its OpenAI-compatible upstream is the runtime's default provider
//     (AGENTSCOPE_LLM_BASE_URL or OPENAI_BASE_URL, AGENTSCOPE_LLM_API_KEY
//     or OPENAI_API_KEY);
//   - its Anthropic upstream is AGENTSCOPE_ANTHROPIC_API_KEY (or
//     ANTHROPIC_API_KEY) at AGENTSCOPE_ANTHROPIC_BASE_URL (default
//     Anthropic's API);
//   - AGENTSCOPE_GATEWAY_OPENAI_URL and AGENTSCOPE_GATEWAY_ANTHROPIC_URL
//     are where a client's own provider key is sent (default the
//     providers' public endpoints);
//   - AGENTSCOPE_GATEWAY_IDLE_TIMEOUT ends the sessions the gateway
//     starts for calls without X-AgentScope-Session-Id (default 30m).
func gatewayOptions(cfg *Config, log *slog.Logger) (gateway.Options, error) {
	getenv, provider := cfg.env(), cfg.Runtime.ProviderEnv
	if provider == nil {
		provider = getenv
	}
	first := func(get func(string) string, names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(get(n)); v != "" {
				return v
			}
		}
		return ""
	}
	opts := gateway.Options{Pricing: cfg.Runtime.Pricing, Logger: log,
		OpenAIBaseURL:    first(getenv, "AGENTSCOPE_GATEWAY_OPENAI_URL"),
		AnthropicBaseURL: first(getenv, "AGENTSCOPE_GATEWAY_ANTHROPIC_URL")}
	if llm := cfg.Runtime.LLM; llm.APIKey != "" {
		base := llm.BaseURL
		if base == "" {
			base = runtime.DefaultBaseURL
		}
		opts.Upstreams = append(opts.Upstreams, gateway.Upstream{Name: upstreamName(base, "openai"), API: gateway.OpenAI, BaseURL: base, APIKey: llm.APIKey})
	}
	if key := first(provider, "AGENTSCOPE_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"); key != "" {
		base := first(provider, "AGENTSCOPE_ANTHROPIC_BASE_URL")
		if base == "" {
			base = gateway.DefaultAnthropicBaseURL
		}
		opts.Upstreams = append(opts.Upstreams, gateway.Upstream{Name: upstreamName(base, "anthropic"), API: gateway.Anthropic, BaseURL: base, APIKey: key})
	}
	for _, u := range []string{opts.OpenAIBaseURL, opts.AnthropicBaseURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return opts, fmt.Errorf("AGENTSCOPE_GATEWAY_*_URL %q is not an http(s) URL", u)
		}
	}
	if v := getenv("AGENTSCOPE_GATEWAY_IDLE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return opts, fmt.Errorf("AGENTSCOPE_GATEWAY_IDLE_TIMEOUT must be a positive duration such as 30m, got %q", v)
		}
		opts.IdleTimeout = d
	}
	return opts, nil
}

// upstreamName is the provider recorded for calls to base: def for the
// provider's own API, the host otherwise.
func upstreamName(base, def string) string {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return def
	}
	switch h := strings.ToLower(u.Hostname()); h {
	case "api.openai.com", "api.anthropic.com":
		return def
	default:
		return h
	}
}
