// Package pricing computes the exact cost of a model call from its token
// usage and a versioned table of list prices.
//
// The table is embedded (prices.json, with its version date) and may be
// overridden or extended by a file of the same format
// (AGENTSCOPE_PRICING_FILE). Prices are held in nano-dollars per million
// tokens, so the cost of a call is
//
//	(uncached_input×input + cache_read×cached_input + cache_write×cache_write_price + output×output) / 1e6
//
// computed in exact integer arithmetic and rounded once, half up, to a whole
// nano-dollar. tokens_in is the provider's full input count, cached tokens
// included (OpenTelemetry's gen_ai.usage.input_tokens); cache reads and
// writes are parts of it, priced at their own rates and subtracted from the
// input priced at the full rate, so a cached token is never paid twice.
// Reasoning tokens are part of the output count and priced as output.
package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"regexp"
	"strings"

	"github.com/agentscope/agentscope"
)

//go:embed prices.json
var embedded []byte

// Price is one model's list prices. Each rate is the price of one million
// tokens, as an exact USD amount (so in nano-dollars per million tokens).
type Price struct {
	// Provider is empty when the model is priced the same wherever it is
	// served; with Model "*" it prices every model of that provider.
	Provider string
	Model    string
	Input    agentscope.USD
	// CachedInput prices input tokens read from the prompt cache; it equals
	// Input for models without a cache discount.
	CachedInput agentscope.USD
	// CacheWrite prices input tokens written to the prompt cache; it equals
	// Input where writes cost nothing extra.
	CacheWrite agentscope.USD
	Output     agentscope.USD
}

// Usage is a model call's token counts as the provider reported them.
type Usage struct {
	// InputTokens is the full input, cached tokens included.
	InputTokens int64
	// CacheReadTokens and CacheWriteTokens are parts of InputTokens.
	CacheReadTokens  int64
	CacheWriteTokens int64
	// OutputTokens includes reasoning tokens.
	OutputTokens int64
}

// Table is a versioned set of prices.
type Table struct {
	// Version dates the prices, e.g. "2025-11-01".
	Version string
	prices  []Price
	byModel map[string]Price // normalised model name → price
}

type fileEntry struct {
	Provider    string `json:"provider"`
	Model       string `json:"model"`
	Input       string `json:"input"`
	CachedInput string `json:"cached_input"`
	CacheWrite  string `json:"cache_write"`
	Output      string `json:"output"`
}

type file struct {
	Version string      `json:"version"`
	Note    string      `json:"note"`
	Models  []fileEntry `json:"models"`
}

// Default returns the embedded table.
func Default() *Table {
	t, err := Parse(bytes.NewReader(embedded))
	if err != nil {
		panic("pricing: embedded table: " + err.Error())
	}
	return t
}

// Parse reads a table in the prices.json format: a version and a list of
// models with decimal USD-per-million-token prices given as strings, so
// they are read exactly.
func Parse(r io.Reader) (*Table, error) {
	var f file
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode pricing table: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode pricing table: trailing data after the JSON object")
	}
	if f.Version == "" {
		return nil, fmt.Errorf("pricing table has no version")
	}
	t := &Table{Version: f.Version, byModel: map[string]Price{}}
	for i, e := range f.Models {
		p, err := e.price()
		if err != nil {
			return nil, fmt.Errorf("pricing table model %d (%s): %w", i, e.Model, err)
		}
		t.add(p)
	}
	return t, nil
}

// LoadFile returns the embedded table with the prices of the file at path
// added, replacing the embedded price of any model the file also names. The
// table takes the file's version.
func LoadFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open pricing file: %w", err)
	}
	defer f.Close()
	over, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("pricing file %s: %w", path, err)
	}
	t := Default()
	t.Version = over.Version
	for _, p := range over.prices {
		t.add(p)
	}
	return t, nil
}

func (e fileEntry) price() (Price, error) {
	if e.Model == "" {
		return Price{}, fmt.Errorf("model is required")
	}
	parse := func(name, s string, def agentscope.USD) (agentscope.USD, error) {
		if s == "" {
			if def < 0 {
				return 0, fmt.Errorf("%s is required", name)
			}
			return def, nil
		}
		u, err := agentscope.ParseUSD(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return u, nil
	}
	p := Price{Provider: strings.ToLower(e.Provider), Model: e.Model}
	var err error
	if p.Input, err = parse("input", e.Input, -1); err != nil {
		return p, err
	}
	if p.Output, err = parse("output", e.Output, -1); err != nil {
		return p, err
	}
	if p.CachedInput, err = parse("cached_input", e.CachedInput, p.Input); err != nil {
		return p, err
	}
	if p.CacheWrite, err = parse("cache_write", e.CacheWrite, p.Input); err != nil {
		return p, err
	}
	return p, nil
}

func (t *Table) add(p Price) {
	key := priceKey(p)
	for i := range t.prices {
		if priceKey(t.prices[i]) == key {
			t.prices[i] = p
			t.byModel[key] = p
			return
		}
	}
	t.prices = append(t.prices, p)
	t.byModel[key] = p
}

// priceKey is a price's lookup key: its normalised model name, or
// "provider|*" for a provider's wildcard price.
func priceKey(p Price) string {
	if p.Model == "*" {
		return p.Provider + "|*"
	}
	return normalise(p.Model)
}

// Prices returns the table's entries in order.
func (t *Table) Prices() []Price { return append([]Price(nil), t.prices...) }

var (
	dateSuffix = regexp.MustCompile(`[-@](\d{4}-\d{2}-\d{2}|\d{8})$`)
	tagSuffix  = regexp.MustCompile(`-(latest|preview)$`)
)

// normalise maps a model name to its lookup key: lower case, with dots
// between version digits written as dashes (claude-sonnet-4.5 is
// claude-sonnet-4-5).
func normalise(model string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(model)), ".", "-")
}

// Lookup returns the price of model as served by provider. It tries the
// name as given, then without a routing prefix (openrouter's
// "anthropic/claude-sonnet-4.5"), then without a snapshot date
// ("gpt-4.1-2025-04-14", "claude-sonnet-4-5-20250929") or a -latest tag,
// and finally the provider's wildcard price. It reports false for a model
// it does not know: such a call's cost is unknown, never zero.
func (t *Table) Lookup(provider, model string) (Price, bool) {
	name := normalise(model)
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	for _, cand := range []string{name, dateSuffix.ReplaceAllString(name, ""), tagSuffix.ReplaceAllString(dateSuffix.ReplaceAllString(name, ""), "")} {
		if p, ok := t.byModel[cand]; ok {
			return p, true
		}
	}
	if p, ok := t.byModel[strings.ToLower(provider)+"|*"]; ok {
		return p, true
	}
	return Price{}, false
}

var million = big.NewInt(1_000_000)

// Cost returns the exact cost of usage at price p, rounded once, half up,
// to a whole nano-dollar. It refuses usage whose cached parts exceed the
// input or whose counts are negative.
func (p Price) Cost(u Usage) (agentscope.USD, error) {
	if u.InputTokens < 0 || u.OutputTokens < 0 || u.CacheReadTokens < 0 || u.CacheWriteTokens < 0 {
		return 0, fmt.Errorf("token counts must be >= 0")
	}
	if u.CacheReadTokens > u.InputTokens || u.CacheWriteTokens > u.InputTokens-u.CacheReadTokens { // no sum that could wrap
		return 0, fmt.Errorf("cache read (%d) and write (%d) tokens exceed the input tokens (%d), which include them", u.CacheReadTokens, u.CacheWriteTokens, u.InputTokens)
	}
	uncached := u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens
	var sum, term big.Int
	for _, c := range []struct {
		tokens int64
		rate   agentscope.USD
	}{{uncached, p.Input}, {u.CacheReadTokens, p.CachedInput}, {u.CacheWriteTokens, p.CacheWrite}, {u.OutputTokens, p.Output}} {
		term.Mul(big.NewInt(c.tokens), big.NewInt(int64(c.rate)))
		sum.Add(&sum, &term)
	}
	var q, r big.Int
	q.QuoRem(&sum, million, &r)
	if r.Lsh(&r, 1).Cmp(million) >= 0 {
		q.Add(&q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("cost overflows")
	}
	return agentscope.USD(q.Int64()), nil
}
