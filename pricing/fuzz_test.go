package pricing_test

import (
	"bytes"
	"math"
	"testing"

	"github.com/agentscope/agentscope/pricing"
)

// FuzzParse: any pricing file is refused with an error or read into prices
// that are never negative, and the cost of any usage at those prices is
// refused or a non-negative amount — never a panic or a wrapped sum.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"version":"t","models":[{"provider":"openai","model":"m","input":"2","output":"8","cached_input":"0.5"}]}`), int64(1200), int64(80), int64(1000), int64(0))
	f.Add([]byte(`{"version":"t","models":[{"model":"m","input":"1e6","output":"1e6"}]}`), int64(math.MaxInt64), int64(math.MaxInt64), int64(0), int64(0))
	f.Add([]byte(`{"version":"t","models":[{"model":"m","input":"1","output":"1"}]} trailing`), int64(1), int64(1), int64(0), int64(0))
	f.Add([]byte(`{"version":"t","models":[{"model":"m","input":"-1","output":"1/2"}]}`), int64(1), int64(1), int64(1<<62), int64(1<<62))
	f.Fuzz(func(t *testing.T, data []byte, in, out, read, write int64) {
		table, err := pricing.Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range table.Prices() {
			if p.Input < 0 || p.Output < 0 || p.CachedInput < 0 || p.CacheWrite < 0 {
				t.Fatalf("negative price %+v", p)
			}
			c, err := p.Cost(pricing.Usage{InputTokens: in, OutputTokens: out, CacheReadTokens: read, CacheWriteTokens: write})
			if err == nil && c < 0 {
				t.Fatalf("cost %s of %d/%d/%d/%d at %+v", c, in, out, read, write, p)
			}
			if err == nil && (read < 0 || write < 0 || read > in || write > in || read+write > in) {
				t.Fatalf("accepted usage %d/%d/%d/%d", in, out, read, write)
			}
		}
	})
}
