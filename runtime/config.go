package runtime

import (
	"net/url"
	"strings"

	"github.com/agentscope/agentscope/internal/breaker"
)

// LLMConfig is the default model provider, from the environment:
// AGENTSCOPE_LLM_BASE_URL (or OPENAI_BASE_URL), AGENTSCOPE_LLM_API_KEY (or
// OPENAI_API_KEY) and AGENTSCOPE_LLM_MODEL. An agent's definition may
// override each per provider.
type LLMConfig struct {
	BaseURL string
	// APIKey is a secret: it is never logged nor put in errors or events.
	APIKey string
	Model  string
}

// DefaultBaseURL is OpenAI's API, used when no base URL is configured.
const DefaultBaseURL = "https://api.openai.com/v1"

// LLMConfigFromEnv reads the default provider from getenv.
func LLMConfigFromEnv(getenv func(string) string) LLMConfig {
	first := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	return LLMConfig{
		BaseURL: first("AGENTSCOPE_LLM_BASE_URL", "OPENAI_BASE_URL"),
		APIKey:  first("AGENTSCOPE_LLM_API_KEY", "OPENAI_API_KEY"),
		Model:   first("AGENTSCOPE_LLM_MODEL"),
	}
}

// defaultModels are the models used when neither the agent nor
// AGENTSCOPE_LLM_MODEL names one, for providers whose catalogue is known: a
// capable, inexpensive model that supports structured output (the
// investigator's report). A local or unknown server has none: its models
// are whatever the operator pulled.
var defaultModels = map[string]string{
	"openai":     "gpt-4.1-mini",
	"anthropic":  "claude-sonnet-4-5",
	"google":     "gemini-2.5-flash",
	"mistral":    "mistral-small-latest",
	"openrouter": "openai/gpt-4.1-mini",
}

// DefaultModel is the model used at baseURL (OpenAI's API when empty) when
// none is configured, or "" when the provider has no default.
func DefaultModel(baseURL string) string {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return defaultModels[ProviderName(baseURL)]
}

// ProviderName is the name a provider at baseURL goes by when its
// configuration gives none (openai, anthropic, azure_openai, ollama, …, or
// the host): the runtime records it on model calls and prices by it, and
// the LLM gateway names its configured upstreams with it.
func ProviderName(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return "openai_compatible"
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "api.openai.com":
		return "openai"
	case strings.HasSuffix(host, ".openai.azure.com"):
		return "azure_openai"
	case host == "api.anthropic.com":
		return "anthropic"
	case host == "generativelanguage.googleapis.com":
		return "google"
	case host == "api.mistral.ai":
		return "mistral"
	case host == "openrouter.ai":
		return "openrouter"
	case u.Port() == "11434":
		return "ollama"
	}
	return host
}

// BreakerConfig tunes the providers' circuit breakers (package breaker,
// shared with the LLM gateway).
type BreakerConfig = breaker.Config
