package spl

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agentscope/agentscope"
)

func init() {
	register("len", &funcDef{min: 1, max: 1, fn: func(c *evalCtx, e *callExpr) Value {
		s, ok := argStr(c, e, 0)
		if !ok {
			return null
		}
		return numVal(float64(utf8.RuneCountInString(s)))
	}})
	register("lower", &funcDef{min: 1, max: 1, fn: mapStrings(strings.ToLower)})
	register("upper", &funcDef{min: 1, max: 1, fn: mapStrings(strings.ToUpper)})
	register("trim", &funcDef{min: 1, max: 2, fn: trimFunc(strings.Trim)})
	register("ltrim", &funcDef{min: 1, max: 2, fn: trimFunc(strings.TrimLeft)})
	register("rtrim", &funcDef{min: 1, max: 2, fn: trimFunc(strings.TrimRight)})
	register("substr", &funcDef{min: 2, max: 3, fn: substr})
	register("replace", &funcDef{min: 3, max: 3, compile: regexArg(1), fn: func(c *evalCtx, e *callExpr) Value {
		s, ok := argStr(c, e, 0)
		repl, rok := argStr(c, e, 2)
		if !ok || !rok {
			return null
		}
		re, ok := regexOf(c, e, 1)
		if !ok {
			return null
		}
		return c.str(re.ReplaceAllString(s, splunkReplacement(repl)))
	}})
	register("tostring", &funcDef{min: 1, max: 2, fn: tostring})
	register("tonumber", &funcDef{min: 1, max: 2, fn: tonumber})
	register("split", &funcDef{min: 2, max: 2, fn: func(c *evalCtx, e *callExpr) Value {
		s, ok := argStr(c, e, 0)
		sep, sok := argStr(c, e, 1)
		if !ok || !sok {
			return null
		}
		parts := strings.SplitN(s, sep, maxMVLen+1)
		return c.mv(parts)
	}})
	register("mvcount", &funcDef{min: 1, max: 1, fn: func(c *evalCtx, e *callExpr) Value {
		v := arg(c, e, 0)
		if v.isNull() {
			return null
		}
		return numVal(float64(len(v.values())))
	}})
	register("mvindex", &funcDef{min: 2, max: 3, fn: mvindex})
	register("mvjoin", &funcDef{min: 2, max: 2, fn: func(c *evalCtx, e *callExpr) Value {
		v := arg(c, e, 0)
		sep, ok := argStr(c, e, 1)
		if v.isNull() || !ok {
			return null
		}
		return c.str(strings.Join(v.values(), sep))
	}})
	register("mvappend", &funcDef{min: 1, max: -1, fn: func(c *evalCtx, e *callExpr) Value {
		var out []string
		for i := range e.args {
			out = append(out, arg(c, e, i).values()...)
			if len(out) > maxMVLen {
				break
			}
		}
		return c.mv(out)
	}})
	register("json_extract", &funcDef{min: 1, max: 2, fn: func(c *evalCtx, e *callExpr) Value {
		s, ok := argStr(c, e, 0)
		if !ok {
			return null
		}
		path, _ := argStr(c, e, 1)
		return jsonPathValue(c, s, path)
	}})
}

// mapStrings applies f to a value, or to each value of a multivalue.
func mapStrings(f func(string) string) func(*evalCtx, *callExpr) Value {
	return func(c *evalCtx, e *callExpr) Value {
		v := arg(c, e, 0)
		switch v.k {
		case kNull:
			return null
		case kMV:
			out := make([]string, len(v.mv))
			for i, s := range v.mv {
				out[i] = f(s)
			}
			return mvVal(out)
		}
		s, _ := v.str()
		return strVal(f(s))
	}
}

func trimFunc(f func(string, string) string) func(*evalCtx, *callExpr) Value {
	return func(c *evalCtx, e *callExpr) Value {
		s, ok := argStr(c, e, 0)
		if !ok {
			return null
		}
		cut := " \t"
		if len(e.args) > 1 {
			if cut, ok = argStr(c, e, 1); !ok {
				return null
			}
		}
		return strVal(f(s, cut))
	}
}

// substr(s, start[, length]) counts characters from 1; a negative start
// counts from the end.
func substr(c *evalCtx, e *callExpr) Value {
	s, ok := argStr(c, e, 0)
	start, sok := argNum(c, e, 1)
	if !ok || !sok {
		return null
	}
	rs := []rune(s)
	n := len(rs)
	from := int(clampF(math.Trunc(start), -float64(n)-1, float64(n)+1))
	switch {
	case from > 0:
		from--
	case from < 0:
		from = n + from
		if from < 0 {
			from = 0
		}
	}
	if from > n {
		from = n
	}
	to := n
	if len(e.args) > 2 {
		l, ok := argNum(c, e, 2)
		if !ok {
			return null
		}
		if l < 0 {
			return null
		}
		to = from + int(clampF(math.Trunc(l), 0, float64(n)))
		if to > n {
			to = n
		}
	}
	return strVal(string(rs[from:to]))
}

func clampF(f, lo, hi float64) float64 {
	if f < lo || math.IsNaN(f) {
		return lo
	}
	if f > hi {
		return hi
	}
	return f
}

var backref = regexp.MustCompile(`\\(\d)`)

// splunkReplacement turns a Splunk replacement string (\1 for the first
// group) into Go's ($1, with literal $ escaped).
func splunkReplacement(s string) string {
	s = strings.ReplaceAll(s, "$", "$$")
	return backref.ReplaceAllString(s, "$${$1}")
}

func tostring(c *evalCtx, e *callExpr) Value {
	v := arg(c, e, 0)
	if v.isNull() {
		return null
	}
	if len(e.args) == 1 {
		if v.k == kMV {
			return v
		}
		s, _ := v.str()
		return strVal(s)
	}
	format, ok := argStr(c, e, 1)
	f, isNum := v.num()
	if !ok || !isNum {
		s, _ := v.str()
		return strVal(s)
	}
	switch strings.ToLower(format) {
	case "commas":
		return strVal(withCommas(f))
	case "duration":
		return strVal(duration(f))
	case "hex":
		if math.Abs(f) >= 1<<63 {
			return null
		}
		n := int64(f)
		if n < 0 {
			return strVal("-0x" + strings.ToUpper(strconv.FormatInt(-n, 16)))
		}
		return strVal("0x" + strings.ToUpper(strconv.FormatInt(n, 16)))
	}
	return c.fail(agentscope.Errorf(agentscope.EINVALID, "tostring: unknown format %q (use \"commas\", \"duration\" or \"hex\")", format))
}

// withCommas formats like tostring(x, "commas"): thousands separators and,
// for a fraction, two decimals.
func withCommas(f float64) string {
	neg := f < 0
	f = math.Abs(f)
	var s string
	if f == math.Trunc(f) {
		s = strconv.FormatFloat(f, 'f', 0, 64)
	} else {
		s = strconv.FormatFloat(f, 'f', 2, 64)
	}
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, ch := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// duration formats seconds like tostring(x, "duration"): [D+]HH:MM:SS.
func duration(f float64) string {
	neg := f < 0
	secs := int64(math.Abs(math.Trunc(clampF(f, -1e15, 1e15))))
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	out := fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	if d > 0 {
		out = fmt.Sprintf("%d+%s", d, out)
	}
	if neg {
		out = "-" + out
	}
	return out
}

func tonumber(c *evalCtx, e *callExpr) Value {
	v := arg(c, e, 0)
	if v.k == kNum {
		return v
	}
	s, ok := v.str()
	if !ok {
		return null
	}
	s = strings.TrimSpace(s)
	if len(e.args) == 1 {
		if f, ok := parseNumber(s); ok {
			return numVal(f)
		}
		return null
	}
	base, ok := argNum(c, e, 1)
	if !ok || base < 2 || base > 36 || base != math.Trunc(base) {
		return null
	}
	if base == 16 {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	}
	n, err := strconv.ParseInt(s, int(base), 64)
	if err != nil {
		return null
	}
	return numVal(float64(n))
}

// mvindex(mv, start[, end]) counts from 0, negative from the end; end is
// inclusive.
func mvindex(c *evalCtx, e *callExpr) Value {
	vs := arg(c, e, 0).values()
	n := len(vs)
	start, ok := argNum(c, e, 1)
	if !ok || n == 0 {
		return null
	}
	idx := func(f float64) int {
		i := int(clampF(math.Trunc(f), -float64(n)-1, float64(n)+1))
		if i < 0 {
			i += n
		}
		return i
	}
	from := idx(start)
	to := from
	if len(e.args) > 2 {
		end, ok := argNum(c, e, 2)
		if !ok {
			return null
		}
		to = idx(end)
	}
	if from < 0 || from >= n || to < from {
		return null
	}
	if to >= n {
		to = n - 1
	}
	return mvVal(append([]string(nil), vs[from:to+1]...))
}
