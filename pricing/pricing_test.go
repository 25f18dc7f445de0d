package pricing_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/pricing"
)

func TestCost(t *testing.T) {
	table := pricing.Default()
	cases := []struct {
		name, provider, model string
		u                     pricing.Usage
		want                  string
	}{
		// 200 uncached × $2 + 1000 cached × $0.50 + 80 out × $8, per million.
		{"cached tokens priced once", "openai", "gpt-4.1", pricing.Usage{InputTokens: 1200, CacheReadTokens: 1000, OutputTokens: 80}, "0.00154"},
		// The bug other tools have: cached tokens billed at the full rate
		// too would give 0.00354.
		{"no cache", "openai", "gpt-4.1", pricing.Usage{InputTokens: 1200, OutputTokens: 80}, "0.00304"},
		{"dated snapshot", "azure_openai", "gpt-4.1-2025-04-14", pricing.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}, "10"},
		// Anthropic: 500 uncached × $3 + 2000 read × $0.30 + 1000 written × $3.75 + 300 out × $15.
		{"cache read and write", "anthropic", "claude-sonnet-4-5-20250929", pricing.Usage{InputTokens: 3500, CacheReadTokens: 2000, CacheWriteTokens: 1000, OutputTokens: 300}, "0.01035"},
		{"routing prefix and dots", "openrouter", "anthropic/claude-sonnet-4.5", pricing.Usage{InputTokens: 1000}, "0.003"},
		{"reasoning is output", "openai", "o4-mini", pricing.Usage{InputTokens: 100, OutputTokens: 1000}, "0.00451"},
		{"local model costs nothing", "ollama", "llama3.1:8b", pricing.Usage{InputTokens: 5000, OutputTokens: 500}, "0"},
		{"no cache price means input price", "mistral", "mistral-large-latest", pricing.Usage{InputTokens: 1000, CacheReadTokens: 1000, OutputTokens: 0}, "0.002"},
		{"huge counts stay exact", "anthropic", "claude-opus-4-1", pricing.Usage{InputTokens: 9_000_000_000_000, OutputTokens: 1}, "135000000.000075"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := table.Lookup(c.provider, c.model)
			if !ok {
				t.Fatalf("%s/%s not in the table", c.provider, c.model)
			}
			got, err := p.Cost(c.u)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != c.want {
				t.Errorf("cost %s, want %s", got, c.want)
			}
		})
	}
}

// TestCostRoundsOnce prices tokens at fractions of a nano-dollar: the sum
// is rounded once, half up.
func TestCostRoundsOnce(t *testing.T) {
	// $0.0001 and $0.00025 per million tokens: 0.1 and 0.25 nano-dollars a token.
	table, err := pricing.Parse(strings.NewReader(`{"version":"t","models":[{"model":"tiny","input":"0.0001","cached_input":"0.00025","output":"0.0001"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := table.Lookup("", "tiny")
	for _, c := range []struct {
		u    pricing.Usage
		want agentscope.USD
	}{
		{pricing.Usage{InputTokens: 4}, 0},                     // 0.4
		{pricing.Usage{InputTokens: 5}, 1},                     // 0.5 rounds up
		{pricing.Usage{InputTokens: 7}, 1},                     // 0.7
		{pricing.Usage{InputTokens: 4, CacheReadTokens: 1}, 1}, // 0.3 + 0.25 = 0.55: each part alone would round to 0
		{pricing.Usage{InputTokens: 3, OutputTokens: 3}, 1},    // 0.3 + 0.3 = 0.6
		{pricing.Usage{InputTokens: 2, CacheReadTokens: 2}, 1}, // 0 + 0.5
		{pricing.Usage{InputTokens: 15, OutputTokens: 10}, 3},  // 1.5 + 1.0 = 2.5 → 3
	} {
		if got, err := p.Cost(c.u); err != nil || got != c.want {
			t.Errorf("Cost(%+v) = %d, %v; want %d nano-dollars", c.u, got, err, c.want)
		}
	}
}

func TestCostRefusesInconsistentUsage(t *testing.T) {
	p, _ := pricing.Default().Lookup("openai", "gpt-4.1")
	for _, u := range []pricing.Usage{
		{InputTokens: 10, CacheReadTokens: 8, CacheWriteTokens: 5},
		{InputTokens: -1},
	} {
		if _, err := p.Cost(u); err == nil {
			t.Errorf("Cost(%+v) accepted", u)
		}
	}
}

func TestUnknownModel(t *testing.T) {
	for _, m := range []string{"my-finetune", "gpt-4.1x", ""} {
		if p, ok := pricing.Default().Lookup("openai", m); ok {
			t.Errorf("Lookup(%q) = %+v; an unknown model must not get a price", m, p)
		}
	}
}

func TestEmbeddedTable(t *testing.T) {
	table := pricing.Default()
	if table.Version == "" {
		t.Fatal("no version")
	}
	providers := map[string]bool{}
	for _, p := range table.Prices() {
		providers[p.Provider] = true
		if p.CachedInput > p.Input {
			t.Errorf("%s: cached input dearer than input", p.Model)
		}
	}
	for _, want := range []string{"openai", "anthropic", "google", "mistral", "", "ollama"} {
		if !providers[want] {
			t.Errorf("no prices for provider %q", want)
		}
	}
}

func TestLoadFileOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prices.json")
	body := `{"version":"2026-01-01-custom","models":[{"model":"gpt-4.1","input":"1","output":"4"},{"provider":"vllm","model":"*","input":"0","output":"0"},{"model":"my-finetune","input":"3","cached_input":"1.5","output":"12"}]}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	table, err := pricing.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if table.Version != "2026-01-01-custom" {
		t.Errorf("version %q", table.Version)
	}
	p, _ := table.Lookup("openai", "gpt-4.1")
	if got, _ := p.Cost(pricing.Usage{InputTokens: 1_000_000}); got.String() != "1" {
		t.Errorf("overridden gpt-4.1 input: %s", got)
	}
	if _, ok := table.Lookup("openai", "gpt-4o"); !ok {
		t.Error("embedded prices lost")
	}
	if _, ok := table.Lookup("vllm", "anything"); !ok {
		t.Error("wildcard price not added")
	}
	for _, bad := range []string{`{"models":[]}`, `{"version":"v","models":[{"model":"x","input":"-1","output":"1"}]}`, `{"version":"v","models":[{"model":"x","input":"1"}]}`, `{"version":"v","extra":1}`} {
		if _, err := pricing.Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

// TestCachedTokensCannotWrap: cache read and write counts of 2^62 each
// summed to a negative number and passed the cached <= input rule.
func TestCachedTokensCannotWrap(t *testing.T) {
	p, _ := pricing.Default().Lookup("openai", "gpt-4.1")
	if c, err := p.Cost(pricing.Usage{InputTokens: 10, CacheReadTokens: 1 << 62, CacheWriteTokens: 1 << 62}); err == nil {
		t.Fatalf("cost %s, want the usage refused", c)
	}
	if _, err := pricing.Parse(strings.NewReader(`{"version":"t","models":[]} {}`)); err == nil || !strings.Contains(err.Error(), "trailing data") {
		t.Fatalf("trailing data: %v", err)
	}
}
