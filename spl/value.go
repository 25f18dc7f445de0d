package spl

import (
	"math"
	"strconv"
	"strings"
)

// kind is the dynamic type of a Value.
type kind uint8

const (
	kNull kind = iota
	kNum
	kStr
	kMV   // multivalue: a list of strings
	kBool // only inside expressions: comparisons, AND/OR, isnull, …
)

// Value is a field or expression value, dynamically typed like Splunk's:
// null, number, string, multivalue or (transiently) boolean.
type Value struct {
	k  kind
	n  float64
	s  string
	mv []string
}

var null = Value{}

func numVal(f float64) Value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return null
	}
	return Value{k: kNum, n: f}
}

func strVal(s string) Value { return Value{k: kStr, s: s} }

func boolVal(b bool) Value {
	if b {
		return Value{k: kBool, n: 1}
	}
	return Value{k: kBool}
}

// mvVal returns a multivalue, collapsing zero values to null and one value
// to a plain string, as Splunk does.
func mvVal(vs []string) Value {
	switch len(vs) {
	case 0:
		return null
	case 1:
		return strVal(vs[0])
	}
	return Value{k: kMV, mv: vs}
}

// literal returns the value of a literal token: a number when it parses as
// one, else a string.
func literal(s string) Value {
	if f, ok := parseNumber(s); ok {
		return numVal(f)
	}
	return strVal(s)
}

func (v Value) isNull() bool { return v.k == kNull }

func (v Value) truthy() bool { return v.k == kBool && v.n != 0 }

// num returns v as a number: numbers, and strings that read as numbers
// (field values are strings to Splunk, and numeric ones compare as numbers).
func (v Value) num() (float64, bool) {
	switch v.k {
	case kNum:
		return v.n, true
	case kStr:
		return parseNumber(v.s)
	case kMV:
		if len(v.mv) > 0 {
			return parseNumber(v.mv[0])
		}
	}
	return 0, false
}

// str returns v as one string; a multivalue gives its first value.
func (v Value) str() (string, bool) {
	switch v.k {
	case kStr:
		return v.s, true
	case kNum:
		return formatNumber(v.n), true
	case kMV:
		if len(v.mv) > 0 {
			return v.mv[0], true
		}
	case kBool:
		if v.n != 0 {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// values returns every value of v as strings: none for null, one for a
// single value, all of a multivalue.
func (v Value) values() []string {
	switch v.k {
	case kNull:
		return nil
	case kMV:
		return v.mv
	}
	s, _ := v.str()
	return []string{s}
}

// each calls fn with every value of v: v itself, or each value of a
// multivalue as a string Value.
func (v Value) each(fn func(Value) bool) {
	switch v.k {
	case kNull:
	case kMV:
		for _, s := range v.mv {
			if !fn(strVal(s)) {
				return
			}
		}
	default:
		fn(v)
	}
}

// parseNumber reads s as a decimal number the way Splunk recognises numeric
// field values: optional sign, digits, optional fraction and exponent.
// Hexadecimal, "inf", "nan" and surrounding spaces are not numbers.
func parseNumber(s string) (float64, bool) {
	if s == "" || len(s) > 64 {
		return 0, false
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// roundSig rounds f to 15 significant digits, hiding binary floating-point
// noise (0.1+0.2 is 0.3) the way Splunk's number formatting does.
func roundSig(f float64) float64 {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	if err != nil {
		return f
	}
	return r
}

// formatNumber renders a number as Splunk prints it: integers without a
// fraction, others in plain decimal with at most 15 significant digits.
func formatNumber(f float64) string {
	r := roundSig(f)
	if r == math.Trunc(r) && math.Abs(r) < 1e21 {
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	s := strconv.FormatFloat(r, 'f', -1, 64)
	if strings.Contains(s, "e") {
		return strconv.FormatFloat(r, 'g', -1, 64)
	}
	return s
}

// compareValues orders two single values: numerically when both are
// numbers, else lexicographically. It reports ok=false if either is null.
func compareValues(a, b Value) (int, bool) {
	if a.isNull() || b.isNull() {
		return 0, false
	}
	if x, ok := a.num(); ok {
		if y, ok := b.num(); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	}
	as, _ := a.str()
	bs, _ := b.str()
	return strings.Compare(as, bs), true
}

// sortOrder is the total order of the sort command and of group keys:
// numbers before strings, numbers numerically, strings lexicographically,
// nulls last.
func sortOrder(a, b Value) int {
	switch {
	case a.isNull() && b.isNull():
		return 0
	case a.isNull():
		return 1
	case b.isNull():
		return -1
	}
	x, xok := a.num()
	y, yok := b.num()
	switch {
	case xok && yok:
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case xok:
		return -1
	case yok:
		return 1
	}
	as, _ := a.str()
	bs, _ := b.str()
	return strings.Compare(as, bs)
}
