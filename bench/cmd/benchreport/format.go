package main

import (
	"math"
	"strconv"
	"strings"
)

// formatValue renders a metric for a reader: times per op as ns, µs, ms or
// s; bytes as KiB, MiB or GiB; everything else to three significant
// digits with thousands separators, followed by its unit.
func formatValue(v float64, unit string) string {
	switch unit {
	case "ns/op":
		return formatNanos(v)
	case "B/op":
		return formatBytes(v)
	case "allocs/op":
		return sig3(v) + " allocs"
	}
	// A custom unit that ends in a unit of measure reads better with the
	// rest as a label: "p99_ms" → "117 ms (p99)", "p99-ns/batch" →
	// "412 µs/batch (p99)".
	base, per, _ := strings.Cut(unit, "/")
	if per != "" {
		per = "/" + per
	}
	for _, u := range []string{"ns", "µs", "us", "ms", "s", "KiB", "MiB", "GiB", "MB"} {
		for _, sep := range []string{"_", "-"} {
			label, ok := strings.CutSuffix(base, sep+u)
			if !ok || label == "" {
				continue
			}
			if u == "ns" {
				return formatNanos(v) + per + " (" + label + ")"
			}
			return sig3(v) + " " + u + per + " (" + label + ")"
		}
	}
	return sig3(v) + " " + unit
}

func formatNanos(ns float64) string {
	switch a := math.Abs(ns); {
	case a >= 1e9:
		return sig3(ns/1e9) + " s"
	case a >= 1e6:
		return sig3(ns/1e6) + " ms"
	case a >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

func formatBytes(b float64) string {
	switch a := math.Abs(b); {
	case a >= 1<<30:
		return sig3(b/(1<<30)) + " GiB"
	case a >= 1<<20:
		return sig3(b/(1<<20)) + " MiB"
	case a >= 1<<10:
		return sig3(b/(1<<10)) + " KiB"
	}
	return sig3(b) + " B"
}

// sig3 formats v to three significant digits (all the integer digits when
// there are more), without trailing zeros, grouping thousands with commas.
func sig3(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	decimals := max(0, 2-int(math.Floor(math.Log10(math.Abs(v)))))
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return groupThousands(s)
}

func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// percent formats a fraction as a percentage to three significant digits.
func percent(f float64) string { return sig3(100*f) + "%" }
