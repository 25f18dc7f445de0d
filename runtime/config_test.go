package runtime

import "testing"

func TestDefaultModel(t *testing.T) {
	cases := map[string]string{
		"":                              "gpt-4.1-mini",
		"https://api.openai.com/v1":     "gpt-4.1-mini",
		"https://api.anthropic.com/v1/": "claude-sonnet-4-5",
		"https://api.mistral.ai/v1":     "mistral-small-latest",
		"http://127.0.0.1:11434/v1":     "", // Ollama: whatever the operator pulled
		"http://llama.internal:8080/v1": "",
		"https://generativelanguage.googleapis.com/v1beta/openai/": "gemini-2.5-flash",
	}
	for url, want := range cases {
		if got := DefaultModel(url); got != want {
			t.Errorf("DefaultModel(%q) = %q, want %q", url, got, want)
		}
	}
}
