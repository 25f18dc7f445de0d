package spl

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

var aggNames = map[string]aggFunc{
	"count": aggCount, "c": aggCount,
	"dc": aggDC, "distinct_count": aggDC,
	"sum": aggSum, "avg": aggAvg, "mean": aggAvg,
	"min": aggMin, "max": aggMax, "range": aggRange,
	"median": aggPerc, "mode": aggMode,
	"stdev": aggStdev, "stdevp": aggStdevp, "var": aggVar, "varp": aggVarp,
	"values": aggValues, "list": aggList,
	"earliest": aggEarliest, "latest": aggLatest,
	"earliest_time": aggEarliestTime, "latest_time": aggLatestTime,
	"first": aggFirst, "last": aggLast,
}

var percName = regexp.MustCompile(`^(?i)(perc|p|exactperc|upperperc)(\d+(?:\.\d+)?)$`)

// parseAggs reads aggregations up to the end or a word in stop: count,
// count(f), avg(f) as name, perc95(f), …, separated by spaces or commas.
func (p *parser) parseAggs(stop ...string) ([]aggCall, error) {
	var aggs []aggCall
	for !p.atEnd() {
		t := p.peek()
		if t.is(tOp, ",") {
			p.next()
			continue
		}
		for _, s := range stop {
			if t.isWord(s) {
				return aggs, nil
			}
		}
		if t.kind == tWord && p.peekAt(1).is(tOp, "=") {
			return aggs, nil // an option; the caller decides
		}
		if t.kind != tWord {
			return nil, p.errorf(t, "expected an aggregation such as count or avg(field), got %q", tokenText(t))
		}
		p.next()
		a, err := p.parseAgg(t)
		if err != nil {
			return nil, err
		}
		aggs = append(aggs, a)
	}
	return aggs, nil
}

func (p *parser) parseAgg(t token) (aggCall, error) {
	name := strings.ToLower(t.text)
	var a aggCall
	fn, ok := aggNames[name]
	if ok {
		a.fn = fn
		if name == "median" {
			a.pct = 50
		}
	} else if m := percName.FindStringSubmatch(t.text); m != nil {
		a.fn = aggPerc
		a.pct, _ = strconv.ParseFloat(m[2], 64)
		if a.pct <= 0 || a.pct >= 100 || math.IsNaN(a.pct) {
			return a, p.errorf(t, "percentile %s must be between 0 and 100", m[2])
		}
	} else {
		return a, syntaxErr(t.pos, "%s: unknown aggregation function %q", p.cmd, t.text)
	}
	a.as = t.text
	if open := p.peek(); open.is(tOp, "(") && open.pos == t.end {
		p.next()
		f := p.next()
		if f.isWord("eval") && p.peek().is(tOp, "(") {
			return a, p.errorf(f, "%s(eval(…)) is not supported; compute the field with eval first", t.text)
		}
		if f.kind != tWord && f.kind != tString {
			return a, p.errorf(f, "expected a field name in %s(…)", t.text)
		}
		if cl := p.next(); !cl.is(tOp, ")") {
			if cl.kind == tEOF {
				return a, syntaxErr(open.pos, "unbalanced parentheses: this ( is not closed")
			}
			return a, p.errorf(cl, "expected ) after %s(%s", t.text, f.text)
		}
		a.field = f.text
		a.as = t.text + "(" + f.text + ")"
	} else if a.fn != aggCount {
		return a, p.errorf(t, "%s needs a field: %s(field)", t.text, t.text)
	}
	if p.peek().isWord("as") {
		p.next()
		n := p.next()
		if n.kind != tWord && n.kind != tString {
			return a, p.errorf(n, "expected a name after AS")
		}
		a.as = n.text
	}
	return a, nil
}

func parseStats(p *parser, event bool) (command, error) {
	c := &statsCmd{event: event}
	aggs, err := p.parseAggs("by")
	if err != nil {
		return nil, err
	}
	if err := p.unknownOption(); err != nil {
		return nil, err
	}
	if len(aggs) == 0 {
		return nil, syntaxErr(p.cmdPos, "%s needs at least one aggregation, such as count", p.cmd)
	}
	c.aggs = aggs
	if t := p.peek(); t.isWord("by") {
		p.next()
		if c.by, err = p.fieldList(); err != nil {
			return nil, err
		}
		if len(c.by) == 0 {
			return nil, p.errorf(t, "BY needs at least one field")
		}
	}
	return c, nil
}

// spanSpec is a bin width: a number of time units, or a plain number for
// numeric fields (unit "").
type spanSpec struct {
	n    float64
	unit string
}

func (s spanSpec) isZero() bool { return s.n == 0 }

var spanPattern = regexp.MustCompile(`^(\d+(?:\.\d+)?)([a-zA-Z]*)$`)

func (p *parser) parseSpan(v token) (spanSpec, error) {
	m := spanPattern.FindStringSubmatch(v.text)
	if m == nil {
		return spanSpec{}, p.errorf(v, "span=%s is not a span such as 1h, 30m, 1d or 100", v.text)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	if n <= 0 || n > 1e9 {
		return spanSpec{}, p.errorf(v, "span=%s must be positive", v.text)
	}
	if m[2] == "" {
		return spanSpec{n: n}, nil
	}
	unit, ok := timeUnit(m[2])
	if !ok {
		return spanSpec{}, p.errorf(v, "span=%s: unknown time unit %q", v.text, m[2])
	}
	if n != math.Trunc(n) {
		return spanSpec{}, p.errorf(v, "span=%s: time spans must be whole units", v.text)
	}
	return spanSpec{n: n, unit: unit}, nil
}

func parseTimechart(p *parser) (command, error) {
	c := &timechartCmd{limit: 10, useOther: true, useNull: true}
	options := func() error {
		for {
			name, v, ok := p.option("span", "limit", "useother", "usenull", "bins", "cont")
			if !ok {
				return p.unknownOption()
			}
			var err error
			switch name {
			case "span":
				c.span, err = p.parseSpan(v)
			case "limit":
				c.limit, err = p.intOption(name, v)
			case "useother":
				c.useOther, err = p.boolOption(name, v)
			case "usenull":
				c.useNull, err = p.boolOption(name, v)
			default:
				err = p.errorf(v, "option %s= is not supported; use span=", name)
			}
			if err != nil {
				return err
			}
		}
	}
	if err := options(); err != nil {
		return nil, err
	}
	aggs, err := p.parseAggs("by")
	if err != nil {
		return nil, err
	}
	if len(aggs) == 0 {
		return nil, syntaxErr(p.cmdPos, "timechart needs at least one aggregation, such as count")
	}
	c.aggs = aggs
	if err := options(); err != nil {
		return nil, err
	}
	if t := p.peek(); t.isWord("by") {
		p.next()
		f := p.next()
		if f.kind != tWord && f.kind != tString {
			return nil, p.errorf(t, "BY needs a field")
		}
		c.by = f.text
		if n := p.peek(); n.kind == tWord && !p.peekAt(1).is(tOp, "=") {
			return nil, p.errorf(n, "timechart splits by one field only")
		}
	}
	if err := options(); err != nil {
		return nil, err
	}
	if c.span.unit == "" && !c.span.isZero() {
		return nil, syntaxErr(p.cmdPos, "timechart: span needs a time unit, such as 1h")
	}
	return c, nil
}

func parseBin(p *parser) (command, error) {
	c := &binCmd{}
	for !p.atEnd() {
		if name, v, ok := p.option("span", "bins", "minspan", "start", "end", "aligntime"); ok {
			if name != "span" {
				return nil, p.errorf(v, "option %s= is not supported; use span=", name)
			}
			s, err := p.parseSpan(v)
			if err != nil {
				return nil, err
			}
			c.span = s
			continue
		}
		if err := p.unknownOption(); err != nil {
			return nil, err
		}
		t := p.next()
		switch {
		case t.isWord("as") && c.field != "":
			n := p.next()
			if n.kind != tWord && n.kind != tString {
				return nil, p.errorf(n, "expected a name after AS")
			}
			c.as = n.text
		case (t.kind == tWord || t.kind == tString) && c.field == "":
			c.field = t.text
		default:
			return nil, p.errorf(t, "unexpected %q", tokenText(t))
		}
	}
	if c.field == "" {
		return nil, syntaxErr(p.cmdPos, "%s needs a field", p.cmd)
	}
	if c.span.isZero() {
		return nil, syntaxErr(p.cmdPos, "%s needs span= (automatic bins are not supported)", p.cmd)
	}
	if c.span.unit != "" && c.field != "_time" {
		return nil, syntaxErr(p.cmdPos, "%s: a time span applies to _time only; use a number for %s", p.cmd, c.field)
	}
	if c.as == "" {
		c.as = c.field
	}
	return c, nil
}

func parseTop(p *parser, rare bool) (command, error) {
	c := &topCmd{rare: rare, limit: 10, showCount: true, showPerc: true, countField: "count", percentField: "percent", otherStr: "OTHER"}
	options := func() error {
		for {
			name, v, ok := p.option("limit", "countfield", "percentfield", "showcount", "showperc", "useother", "otherstr")
			if !ok {
				return p.unknownOption()
			}
			var err error
			switch name {
			case "limit":
				c.limit, err = p.intOption(name, v)
			case "countfield":
				c.countField, err = p.optionValue(name, v)
			case "percentfield":
				c.percentField, err = p.optionValue(name, v)
			case "showcount":
				c.showCount, err = p.boolOption(name, v)
			case "showperc":
				c.showPerc, err = p.boolOption(name, v)
			case "useother":
				c.useOther, err = p.boolOption(name, v)
			case "otherstr":
				c.otherStr, err = p.optionValue(name, v)
			}
			if err != nil {
				return err
			}
		}
	}
	if err := options(); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tWord && isAllDigits(t.text) {
		p.next()
		c.limit, _ = strconv.Atoi(t.text)
	}
	var err error
	if c.fields, err = p.fieldList("by"); err != nil {
		return nil, err
	}
	if len(c.fields) == 0 {
		return nil, syntaxErr(p.cmdPos, "%s needs at least one field", p.cmd)
	}
	if t := p.peek(); t.isWord("by") {
		p.next()
		if c.by, err = p.fieldList(); err != nil {
			return nil, err
		}
		if len(c.by) == 0 {
			return nil, p.errorf(t, "BY needs at least one field")
		}
	}
	return c, options()
}
