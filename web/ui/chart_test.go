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

// TestLineChartTimes: points stand at their times, so a bucket missing
// between two others widens the step instead of vanishing.
func TestLineChartTimes(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	xs := []time.Time{t0, t0.Add(time.Second), t0.Add(3 * time.Second)}
	c := NewLineChart(xs, []Series{{Name: "a", Values: []float64{1, 1, 1}}}, func(t time.Time) string { return t.Format("05") })
	if got := c.Lines[0].Points; got != "64,12 278.7,12 708,12" {
		t.Errorf("points %q, want x at 0, 1/3 and 3/3 of the plot", got)
	}
	m := NewMoneyLineChart(xs, []Series{{Name: "a", Values: []float64{0.25, 0.5, 0.75}}}, func(t time.Time) string { return t.Format("05") })
	if got := m.YLabels[len(m.YLabels)-1].Text; got != "$1.00" {
		t.Errorf("money axis top %q", got)
	}
}
