package runtime

import (
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, key, want string }{
		{"Incorrect API key provided: sk-proj-abc123XYZ789.", "", "Incorrect API key provided: [redacted]."},
		{"bad token mysecretvalue here", "mysecretvalue", "bad token [redacted] here"},
		{"Invalid x-api-key sk-ant-api03-AAAA_bbbb", "", "Invalid x-api-key [redacted]"},
		{"no secrets here: task-list", "", "no secrets here: task-list"},
	} {
		if got := redact(c.in, c.key); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSpecValidation(t *testing.T) {
	for _, c := range []struct{ def, field string }{
		{`{}`, "definition.system_prompt"},
		{`{"system_prompt":"x","tools":["start_run"]}`, "definition.tools"},
		{`{"system_prompt":"x","tools":["bad name"]}`, "definition.tools"},
		{`{"system_prompt":"x","api_key":"sk-1"}`, "definition"},
		{`{"system_prompt":"x","providers":[{"api_key_env":"sk-abc-def"}]}`, "definition.providers[0].api_key_env"},
		{`{"system_prompt":"x","providers":[{"api_type":"azure"}]}`, "definition.providers[0].base_url"},
		{`{"system_prompt":"x","mcp_servers":[{"name":"s","tools":["t"]}]}`, "definition.mcp_servers[0]"},
		{`{"system_prompt":"x","mcp_servers":[{"name":"S!","url":"http://x","tools":["t"]}]}`, "definition.mcp_servers[0].name"},
		{`{"system_prompt":"x","limits":{"timeout":"soon"}}`, "definition.limits.timeout"},
		{`{"system_prompt":"x","limits":{"max_steps":1000}}`, "definition.limits.max_steps"},
		{`{"system_prompt":"x","temperature":3}`, "definition.temperature"},
		{`{"system_prompt":"x"} {}`, "definition"},
	} {
		_, err := ParseSpec([]byte(c.def))
		if err == nil || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Errorf("ParseSpec(%s) = %v; want an error about %s", c.def, err, c.field)
		}
	}
	s, err := ParseSpec([]byte(`{"system_prompt":"x","tools":["splunk_context_search"],"limits":{"timeout":"90s","max_steps":3},"providers":[{"name":"anthropic","base_url":"https://api.anthropic.com/v1/","api_key_env":"ANTHROPIC_API_KEY","model":"claude-sonnet-4-5"}]}`))
	if err != nil || s.Limits.timeout() != 90*time.Second || s.Limits.maxSteps() != 3 || s.Limits.modelTimeout() != DefaultModelTimeout {
		t.Errorf("valid spec: %+v %v", s, err)
	}
}

func TestProviderName(t *testing.T) {
	for url, want := range map[string]string{
		"https://api.openai.com/v1":                  "openai",
		"https://api.anthropic.com/v1/":              "anthropic",
		"https://myco.openai.azure.com/":             "azure_openai",
		"http://localhost:11434/v1":                  "ollama",
		"https://openrouter.ai/api/v1":               "openrouter",
		"http://litellm.internal:4000":               "litellm.internal",
		"https://generativelanguage.googleapis.com/": "google",
	} {
		if got := ProviderName(url); got != want {
			t.Errorf("ProviderName(%s) = %s, want %s", url, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("short", 10); got != "short" {
		t.Errorf("short: %q", got)
	}
	// "é" is two bytes: a cut inside it moves back to the rune's start.
	got := truncate("abcé€xyz", 4)
	if got != "abc\n[truncated: the first 3 of 11 bytes]" {
		t.Errorf("cut inside a rune: %q", got)
	}
}
