package spl

import (
	"testing"
	"time"
)

func TestParseTimeModifier(t *testing.T) {
	now := time.Date(2026, 11, 4, 15, 37, 12, 0, time.UTC) // a Wednesday
	tests := []struct{ in, want string }{
		{"now", "2026-11-04T15:37:12Z"},
		{"-24h", "2026-11-03T15:37:12Z"},
		{"-15m", "2026-11-04T15:22:12Z"},
		{"+1h", "2026-11-04T16:37:12Z"},
		{"@d", "2026-11-04T00:00:00Z"},
		{"-7d@d", "2026-10-28T00:00:00Z"},
		{"-1w@w", "2026-10-25T00:00:00Z"},
		{"@w1", "2026-11-02T00:00:00Z"},
		{"-1d@d+8h", "2026-11-03T08:00:00Z"},
		{"-1mon@mon", "2026-10-01T00:00:00Z"},
		{"@q", "2026-10-01T00:00:00Z"},
		{"-1y@y", "2025-01-01T00:00:00Z"},
		{"-d", "2026-11-03T15:37:12Z"},
		{"-30seconds", "2026-11-04T15:36:42Z"},
		{"1793404800", "2026-10-31T00:00:00Z"},
		{"0", "1970-01-01T00:00:00Z"},
		{"10/30/2026:12:00:00", "2026-10-30T12:00:00Z"},
		// ISO 8601, as the tools' schemas and the CLI's help promise.
		{"2026-12-05T00:00:00Z", "2026-12-05T00:00:00Z"},
		{"2026-12-05T09:30:00.250+02:00", "2026-12-05T07:30:00Z"},
		{"2026-12-05T09:30:00", "2026-12-05T09:30:00Z"},
		{"2026-12-05T09:30", "2026-12-05T09:30:00Z"},
		{"2026-12-05", "2026-12-05T00:00:00Z"},
	}
	for _, tc := range tests {
		got, err := parseTimeModifier(tc.in, now)
		if err != nil || got.Format(time.RFC3339) != tc.want {
			t.Errorf("parseTimeModifier(%q) = %v, %v; want %s", tc.in, got.Format(time.RFC3339), err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-3x", "@", "rt-1m", "-1d@zz", "--1d", "2026-13-05", "2026-12-05T25:00:00Z", "2026-12-05X"} {
		if _, err := parseTimeModifier(bad, now); err == nil {
			t.Errorf("parseTimeModifier(%q) accepted", bad)
		}
	}
}

// TestPercentileNearestRank pins Splunk's nearest-rank method: the value of
// 0-based rank floor(p/100 × n).
func TestPercentileNearestRank(t *testing.T) {
	vals := func() []float64 { return []float64{4, 1, 3, 2} }
	for _, tc := range []struct{ p, want float64 }{{50, 3}, {25, 2}, {75, 4}, {95, 4}, {1, 1}, {99.9, 4}} {
		if got := percentile(vals(), tc.p); got != tc.want {
			t.Errorf("perc%v of 1..4 = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile([]float64{5, 1, 3}, 50); got != 3 {
		t.Errorf("median of 1,3,5 = %v", got)
	}
}
