package ui

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestLineChartGaps: a missing value (NaN) is a gap in its line, never a
// NaN axis or point; the axis is scaled to the values present.
func TestLineChartGaps(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	xs := []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute)}
	c := NewLineChart(xs, []Series{{Name: "a", Values: []float64{1, math.NaN(), 3}}, {Name: "b", Values: []float64{math.NaN(), 2, math.Inf(1)}}},
		func(t time.Time) string { return t.Format("15:04") })
	for _, l := range c.YLabels {
		if strings.Contains(l.Text, "NaN") || strings.Contains(l.Text, "Inf") {
			t.Fatalf("axis label %q", l.Text)
		}
	}
	if c.YLabels[len(c.YLabels)-1].Text == "0" {
		t.Errorf("axis not scaled to the values: %+v", c.YLabels)
	}
	for _, p := range c.Lines {
		if strings.Contains(p.Points, "NaN") || strings.Contains(p.Points, "Inf") {
			t.Errorf("%s: points %q", p.Title, p.Points)
		}
	}
	if got := len(strings.Fields(c.Lines[0].Points)); got != 2 {
		t.Errorf("line a has %d points, want 2 (the gap skipped)", got)
	}
}
