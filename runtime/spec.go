package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/agentscope/agentscope"
)

// Spec is a managed agent's definition, stored as JSON in agents.spec. Empty
// fields take the process defaults (AGENTSCOPE_LLM_*). It holds no secrets:
// providers and MCP servers name the environment variables that hold keys.
type Spec struct {
	// Kind selects a built-in executor instead of the agent loop:
	// "investigator" investigates the session named by the run's input.
	Kind string `json:"kind,omitempty" jsonschema:"empty for the agent loop; investigator for the built-in investigator"`
	// Description says what the agent is for.
	Description string `json:"description,omitempty" jsonschema:"what the agent is for"`
	// Model is the model to call; AGENTSCOPE_LLM_MODEL when empty.
	Model string `json:"model,omitempty" jsonschema:"model name; AGENTSCOPE_LLM_MODEL when empty"`
	// SystemPrompt is the system message of every run.
	SystemPrompt string `json:"system_prompt" jsonschema:"the system message of every run"`
	// Tools names AgentScope tools the model may call, e.g.
	// splunk_context_search, replay_session, get_run, list_runs.
	Tools []string `json:"tools,omitempty" jsonschema:"AgentScope tools offered to the model, e.g. splunk_context_search, replay_session, get_run, list_runs"`
	// MCPServers are other MCP servers whose named tools the model may call.
	MCPServers []MCPServerSpec `json:"mcp_servers,omitempty" jsonschema:"other MCP servers whose listed tools the model may call"`
	// Providers is the ordered failover list; empty means the process's
	// (AGENTSCOPE_LLM_PROVIDERS), or without it the default provider of
	// AGENTSCOPE_LLM_BASE_URL / AGENTSCOPE_LLM_API_KEY.
	Providers []ProviderSpec `json:"providers,omitempty" jsonschema:"model providers in failover order; AGENTSCOPE_LLM_PROVIDERS (else the AGENTSCOPE_LLM_* provider) when empty"`
	// Temperature, if set, is sent with every model call.
	Temperature *float64 `json:"temperature,omitempty" jsonschema:"sampling temperature"`
	// Limits bound each run.
	Limits Limits `json:"limits,omitzero" jsonschema:"bounds of each run"`
}

// Limits bound one run of a managed agent.
type Limits struct {
	// MaxSteps bounds the model calls of a run (default 10).
	MaxSteps int `json:"max_steps,omitempty" jsonschema:"model calls per run (default 10)"`
	// MaxOutputTokens bounds each model answer (provider default if 0).
	MaxOutputTokens int `json:"max_output_tokens,omitempty" jsonschema:"output tokens per model call"`
	// Timeout bounds a whole run attempt, as a Go duration (default 10m).
	Timeout string `json:"timeout,omitempty" jsonschema:"run timeout as a duration such as 10m (default 10m)"`
	// ModelTimeout bounds one model call (default 2m); a call that times
	// out is a transient failure.
	ModelTimeout string `json:"model_timeout,omitempty" jsonschema:"timeout of one model call, such as 2m (default 2m)"`
	// MaxToolResultBytes bounds a tool result sent back to the model
	// (default 16384).
	MaxToolResultBytes int `json:"max_tool_result_bytes,omitempty" jsonschema:"bytes of a tool result sent back to the model (default 16384)"`
	// RunCostEstimateUSD is the cost reserved for each queued or running run
	// against hard caps; by default the mean cost of the agent's ended runs
	// in the budget period (nothing before the first run ends).
	RunCostEstimateUSD *agentscope.USD `json:"run_cost_estimate_usd,omitempty" jsonschema:"cost reserved per unfinished run against hard caps (default: the mean cost of the agent's ended runs in the period)"`
}

// ProviderSpec is one OpenAI-compatible endpoint: OpenAI, Azure OpenAI,
// Anthropic's OpenAI-compatible API, Ollama, vLLM, LiteLLM, OpenRouter.
type ProviderSpec struct {
	// Name labels the provider in events and pricing (openai, anthropic,
	// ollama, …); derived from the base URL when empty.
	Name string `json:"name,omitempty" jsonschema:"label in events and for pricing, e.g. openai, anthropic, ollama"`
	// BaseURL is the API base, e.g. https://api.openai.com/v1;
	// AGENTSCOPE_LLM_BASE_URL when empty.
	BaseURL string `json:"base_url,omitempty" jsonschema:"API base URL such as https://api.anthropic.com/v1/"`
	// Model overrides the agent's model for this provider.
	Model string `json:"model,omitempty" jsonschema:"model name at this provider"`
	// APIKeyEnv names the environment variable holding the key;
	// AGENTSCOPE_LLM_API_KEY (or OPENAI_API_KEY) when empty.
	APIKeyEnv string `json:"api_key_env,omitempty" jsonschema:"environment variable holding this provider's API key"`
	// APIType is "openai" (default) or "azure".
	APIType string `json:"api_type,omitempty" jsonschema:"openai (default) or azure"`
	// APIVersion is Azure OpenAI's api-version.
	APIVersion string `json:"api_version,omitempty" jsonschema:"Azure OpenAI api-version"`
}

// MCPServerSpec is another MCP server an agent may use: a program spawned
// over stdio or a Streamable HTTP endpoint. Only the tools it lists are
// offered, as "<name>__<tool>".
type MCPServerSpec struct {
	Name    string   `json:"name" jsonschema:"short name; its tools are offered as <name>__<tool>"`
	Command string   `json:"command,omitempty" jsonschema:"program to spawn for a stdio server"`
	Args    []string `json:"args,omitempty" jsonschema:"the program's arguments"`
	URL     string   `json:"url,omitempty" jsonschema:"Streamable HTTP endpoint"`
	// HeadersFromEnv maps HTTP header names to environment variables
	// holding their values (such as an Authorization token).
	HeadersFromEnv map[string]string `json:"headers_from_env,omitempty" jsonschema:"HTTP header name to the environment variable holding its value"`
	// Tools lists the server's tools to offer.
	Tools []string `json:"tools" jsonschema:"the server's tools to offer to the model"`
}

// KindInvestigator marks a definition executed by the investigator
// (package investigator, given to Start as an Executor) instead of the
// agent loop (Spec.Kind).
const KindInvestigator = "investigator"

// Defaults of Limits.
const (
	DefaultMaxSteps           = 10
	DefaultRunTimeout         = 10 * time.Minute
	DefaultModelTimeout       = 2 * time.Minute
	DefaultMaxToolResultBytes = 16 << 10
)

// deniedTools are AgentScope tools an agent may not be given: they open,
// alter or end runs and change definitions and budgets.
var deniedTools = []string{"start_run", "record_event", "end_run", "cancel_run", "create_agent", "register_agent", "update_agent", "set_budget", "investigate", "create_alert_rule", "update_alert_rule", "delete_alert_rule"}

var (
	toolNamePattern   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	serverNamePattern = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	envNamePattern    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ParseSpec decodes and validates a definition, refusing unknown fields.
func ParseSpec(raw json.RawMessage) (Spec, error) {
	var s Spec
	if len(bytes.TrimSpace(raw)) == 0 {
		return s, agentscope.FieldErrorf("definition", "is required for a managed agent")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, agentscope.FieldErrorf("definition", "%v", err)
	}
	if dec.More() {
		return s, agentscope.FieldErrorf("definition", "trailing data after the object")
	}
	return s, s.Validate()
}

// Validate checks a definition and returns an EINVALID error naming the
// first bad field.
func (s Spec) Validate() error {
	if s.SystemPrompt == "" {
		return agentscope.FieldErrorf("definition.system_prompt", "is required")
	}
	if s.Kind != "" && s.Kind != KindInvestigator {
		return agentscope.FieldErrorf("definition.kind", "must be empty (the agent loop) or investigator, got %q", s.Kind)
	}
	for _, t := range s.Tools {
		if !toolNamePattern.MatchString(t) {
			return agentscope.FieldErrorf("definition.tools", "%q is not a tool name", t)
		}
		if slices.Contains(deniedTools, t) {
			return agentscope.FieldErrorf("definition.tools", "%s cannot be given to an agent (it opens, changes or ends runs, definitions or budgets)", t)
		}
	}
	names := map[string]bool{}
	for i, m := range s.MCPServers {
		field := fmt.Sprintf("definition.mcp_servers[%d]", i)
		if !serverNamePattern.MatchString(m.Name) {
			return agentscope.FieldErrorf(field+".name", "must match ^[a-z0-9_]{1,32}$")
		}
		if names[m.Name] {
			return agentscope.FieldErrorf(field+".name", "%q is used twice", m.Name)
		}
		names[m.Name] = true
		if (m.Command == "") == (m.URL == "") {
			return agentscope.FieldErrorf(field, "set exactly one of command and url")
		}
		if len(m.Tools) == 0 {
			return agentscope.FieldErrorf(field+".tools", "list the tools to offer")
		}
		for _, t := range m.Tools {
			if !toolNamePattern.MatchString(t) {
				return agentscope.FieldErrorf(field+".tools", "%q is not a tool name", t)
			}
		}
		for h, env := range m.HeadersFromEnv {
			if !envNamePattern.MatchString(env) {
				return agentscope.FieldErrorf(field+".headers_from_env", "%s: %q is not an environment variable name", h, env)
			}
		}
	}
	if err := ValidateProviders("definition.providers", s.Providers); err != nil {
		return err
	}
	if s.Temperature != nil && (*s.Temperature < 0 || *s.Temperature > 2) {
		return agentscope.FieldErrorf("definition.temperature", "must be between 0 and 2")
	}
	l := s.Limits
	if l.MaxSteps < 0 || l.MaxSteps > 100 {
		return agentscope.FieldErrorf("definition.limits.max_steps", "must be between 1 and 100")
	}
	if l.MaxOutputTokens < 0 || l.MaxToolResultBytes < 0 {
		return agentscope.FieldErrorf("definition.limits", "counts must be >= 0")
	}
	if l.RunCostEstimateUSD != nil && *l.RunCostEstimateUSD < 0 {
		return agentscope.FieldErrorf("definition.limits.run_cost_estimate_usd", "must be >= 0")
	}
	for name, v := range map[string]string{"timeout": l.Timeout, "model_timeout": l.ModelTimeout} {
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return agentscope.FieldErrorf("definition.limits."+name, "must be a positive duration such as 90s or 10m, got %q", v)
		}
	}
	return nil
}

func (l Limits) maxSteps() int {
	if l.MaxSteps == 0 {
		return DefaultMaxSteps
	}
	return l.MaxSteps
}

func (l Limits) timeout() time.Duration {
	if d, err := time.ParseDuration(l.Timeout); err == nil && d > 0 {
		return d
	}
	return DefaultRunTimeout
}

func (l Limits) modelTimeout() time.Duration {
	if d, err := time.ParseDuration(l.ModelTimeout); err == nil && d > 0 {
		return d
	}
	return DefaultModelTimeout
}

func (l Limits) maxToolResultBytes() int {
	if l.MaxToolResultBytes == 0 {
		return DefaultMaxToolResultBytes
	}
	return l.MaxToolResultBytes
}

// Canonical returns the definition's JSON as stored.
func (s Spec) Canonical() json.RawMessage {
	b, err := json.Marshal(s)
	if err != nil {
		panic("runtime: marshal spec: " + err.Error())
	}
	return b
}

// ValidateProviders checks a failover list of providers (an agent
// definition's, or AGENTSCOPE_LLM_PROVIDERS), naming the field of a bad
// one as field[i].…
func ValidateProviders(field string, ps []ProviderSpec) error {
	for i, p := range ps {
		at := fmt.Sprintf("%s[%d]", field, i)
		if p.APIKeyEnv != "" && !envNamePattern.MatchString(p.APIKeyEnv) {
			return agentscope.FieldErrorf(at+".api_key_env", "%q is not an environment variable name (put the key in the environment, never in the definition)", p.APIKeyEnv)
		}
		if p.APIType != "" && p.APIType != "openai" && p.APIType != "azure" {
			return agentscope.FieldErrorf(at+".api_type", "must be openai or azure")
		}
		if p.APIType == "azure" && p.BaseURL == "" {
			return agentscope.FieldErrorf(at+".base_url", "is required for Azure OpenAI")
		}
		if p.BaseURL != "" {
			if u, err := url.Parse(p.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return agentscope.FieldErrorf(at+".base_url", "%q is not an http(s) URL such as https://api.openai.com/v1", withoutUserinfo(p.BaseURL))
			}
		}
	}
	return nil
}
