package ui

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Charts are drawn as SVG on the server: they need no script, print well
// and follow the theme through CSS classes (series colours are classes s1…s8).

// Series is one named line or stack of a chart, one value per bucket.
type Series struct {
	Name   string
	Values []float64
}

// SeriesClass is the colour class of the i-th series.
func SeriesClass(i int) string { return "s" + strconv.Itoa(i%8+1) }

// BarChart is a stacked bar chart's geometry.
type BarChart struct {
	W, H    float64
	Bars    []Rect
	XLabels []Label
	YLabels []Label
	Grid    []float64
	Legend  []LegendItem
	Empty   bool
}

// LineChart is a line chart's geometry.
type LineChart struct {
	W, H    float64
	Lines   []Polyline
	XLabels []Label
	YLabels []Label
	Grid    []float64
	Legend  []LegendItem
}

// Rect is one bar segment.
type Rect struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// Polyline is one series of a line chart.
type Polyline struct {
	Points string
	Class  string
	Title  string
	// Dots mark each point when there are few, so a value standing alone
	// between gaps is seen.
	Dots []Point
}

// Point is a position in a chart.
type Point struct{ X, Y float64 }

// maxDots is the most points a line marks with dots.
const maxDots = 60

// Label is an axis label.
type Label struct {
	X, Y float64
	Text string
}

// LegendItem names a series colour.
type LegendItem struct {
	Name, Class string
}

// Sparkline is a tiny line over a card.
type Sparkline struct {
	W, H         float64
	Line, Area   string
	Empty        bool
	Title, Class string
}

const (
	chartW, chartH         = 720.0, 220.0
	padL, padR, padT, padB = 64.0, 12.0, 12.0, 26.0
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
	maxXLabels             = 8
	sparkW, sparkH         = 120.0, 28.0
	barGap                 = 0.22
	yTicks                 = 4
)

// NewStackedBars lays out series (each with one value per bucket) as
// stacked bars, with buckets labelled by label.
func NewStackedBars(buckets []time.Time, series []Series, label func(time.Time) string, money bool) BarChart {
	c := BarChart{W: chartW, H: chartH}
	top := 0.0
	for i := range buckets {
		sum := 0.0
		for _, s := range series {
			sum += s.Values[i]
		}
		top = max(top, sum)
	}
	c.Empty = top == 0 || len(buckets) == 0
	for i, s := range series {
		c.Legend = append(c.Legend, LegendItem{s.Name, SeriesClass(i)})
	}
	if c.Empty {
		return c
	}
	top = niceCeil(top)
	c.YLabels, c.Grid = yAxis(top, money)
	bw := plotW / float64(len(buckets))
	for i, b := range buckets {
		y := padT + plotH
		for j, s := range series {
			v := s.Values[i]
			if v <= 0 {
				continue
			}
			h := v / top * plotH
			y -= h
			c.Bars = append(c.Bars, Rect{
				X: round1(padL + float64(i)*bw + bw*barGap/2), Y: round1(y), W: round1(bw * (1 - barGap)), H: round1(h),
				Class: SeriesClass(j), Title: s.Name + " · " + label(b) + " · " + axisValue(v, money),
			})
		}
	}
	c.XLabels = xLabels(buckets, label, func(i int) float64 { return padL + (float64(i)+0.5)*bw })
	return c
}

// NewLineChart lays out series over time (xs in time order) as lines.
func NewLineChart(xs []time.Time, series []Series, label func(time.Time) string) LineChart {
	return newLineChart(xs, series, label, false)
}

// NewMoneyLineChart is NewLineChart for dollar amounts: its axis is in
// dollars.
func NewMoneyLineChart(xs []time.Time, series []Series, label func(time.Time) string) LineChart {
	return newLineChart(xs, series, label, true)
}

func newLineChart(xs []time.Time, series []Series, label func(time.Time) string, money bool) LineChart {
	c := LineChart{W: chartW, H: chartH}
	top := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) { // a gap, not a height
				top = max(top, v)
			}
		}
	}
	top = niceCeil(top)
	c.YLabels, c.Grid = yAxis(top, money)
	// Points stand at their times, so a bucket missing from the rows
	// (a stats leaves out the empty ones) is a wider step, not hidden.
	span := time.Duration(0)
	if len(xs) > 1 {
		span = xs[len(xs)-1].Sub(xs[0])
	}
	x := func(i int) float64 {
		if span <= 0 {
			if len(xs) < 2 {
				return padL + plotW/2
			}
			return padL + float64(i)/float64(len(xs)-1)*plotW
		}
		return padL + float64(xs[i].Sub(xs[0]))/float64(span)*plotW
	}
	for j, s := range series {
		var b strings.Builder
		var dots []Point
		for i, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			y := padT + plotH - v/top*plotH
			b.WriteString(fmtF(x(i)) + "," + fmtF(y) + " ")
			dots = append(dots, Point{round1(x(i)), round1(y)})
		}
		if len(dots) > maxDots {
			dots = nil
		}
		c.Lines = append(c.Lines, Polyline{Points: strings.TrimSpace(b.String()), Class: SeriesClass(j), Title: s.Name, Dots: dots})
		c.Legend = append(c.Legend, LegendItem{s.Name, SeriesClass(j)})
	}
	c.XLabels = xLabels(xs, label, x)
	return c
}

// NewSparkline draws values as a small line with a filled area.
func NewSparkline(values []float64, title string) Sparkline {
	s := Sparkline{W: sparkW, H: sparkH, Title: title}
	top := 0.0
	for _, v := range values {
		top = max(top, v)
	}
	if top == 0 || len(values) < 2 {
		s.Empty = true
		return s
	}
	var b strings.Builder
	for i, v := range values {
		x := float64(i) / float64(len(values)-1) * sparkW
		y := sparkH - 2 - v/top*(sparkH-4)
		b.WriteString(fmtF(x) + "," + fmtF(y) + " ")
	}
	s.Line = strings.TrimSpace(b.String())
	s.Area = "0," + fmtF(sparkH) + " " + s.Line + " " + fmtF(sparkW) + "," + fmtF(sparkH)
	return s
}

func yAxis(top float64, money bool) ([]Label, []float64) {
	var labels []Label
	var grid []float64
	for i := 0; i <= yTicks; i++ {
		v := top * float64(i) / yTicks
		y := round1(padT + plotH - float64(i)/yTicks*plotH)
		labels = append(labels, Label{X: padL - 8, Y: y + 4, Text: axisValue(v, money)})
		grid = append(grid, y)
	}
	return labels, grid
}

func xLabels(xs []time.Time, label func(time.Time) string, x func(int) float64) []Label {
	step := max(1, (len(xs)+maxXLabels-1)/maxXLabels)
	var out []Label
	for i := 0; i < len(xs); i += step {
		out = append(out, Label{X: round1(x(i)), Y: chartH - 8, Text: label(xs[i])})
	}
	return out
}

func axisValue(v float64, money bool) string {
	if money {
		return Dollars(v)
	}
	switch {
	case v >= 1e6:
		return trimZero(strconv.FormatFloat(v/1e6, 'f', 1, 64)) + "M"
	case v >= 1e4:
		return trimZero(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	}
	return trimZero(strconv.FormatFloat(v, 'f', 2, 64))
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func fmtF(v float64) string { return strconv.FormatFloat(round1(v), 'f', -1, 64) }

// xAnchor anchors an x-axis label: at the right edge by its end, so it is
// not cut off, elsewhere by its middle.
func xAnchor(x, w float64) string {
	if x > w-padR-30 {
		return "end"
	}
	return "middle"
}
