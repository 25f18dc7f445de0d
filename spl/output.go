package spl

import (
	"math"
	"time"
)

// render turns the sink's rows into the Result.
func render(s *sink) *Result {
	res := &Result{Fields: s.columns(), Rows: make([]map[string]any, 0, len(s.rows)), Truncated: s.truncated}
	for _, r := range s.rows {
		out := make(map[string]any)
		for _, n := range r.names() {
			out[n] = renderValue(n, r.get(n))
		}
		res.Rows = append(res.Rows, out)
	}
	return res
}

// renderValue converts a value for the Result: _time as Splunk's JSON
// output shows it, whole numbers as int64, other numbers rounded to 15
// significant digits.
func renderValue(name string, v Value) any {
	switch v.k {
	case kNum:
		if name == "_time" {
			if t, ok := epochToTime(v.n); ok {
				return renderTime(t)
			}
		}
		return renderNumber(v.n)
	case kStr:
		return v.s
	case kMV:
		return append([]string(nil), v.mv...)
	case kBool:
		return v.truthy()
	}
	return nil
}

func renderTime(t time.Time) string { return t.UTC().Format(timeRenderLayout) }

func renderNumber(f float64) any {
	r := roundSig(f)
	if r == math.Trunc(r) && math.Abs(r) < 1<<53 {
		return int64(r)
	}
	return r
}
