package spl

import (
	"regexp"
	"strings"
)

// searchNode is a predicate of the search language: the initial search and
// the search command.
type searchNode interface {
	match(r *row) bool
}

type andNode []searchNode

type orNode []searchNode

type notNode struct{ x searchNode }

// cmpNode is field=value, field!=value, field<value, … or field IN (…).
type cmpNode struct {
	field string
	op    string // "=", "!=", "<", "<=", ">", ">=" ("IN" is "=" with several values)
	vals  []pattern
}

// termNode is a bare term, matched against _raw.
type termNode struct {
	text string
	re   *regexp.Regexp
}

type matchAll struct{}

// timeMod is earliest= or latest= before it is lifted out of the tree.
type timeMod struct {
	which, value string
	pos          int
}

func (n andNode) match(r *row) bool {
	for _, c := range n {
		if !c.match(r) {
			return false
		}
	}
	return true
}

func (n orNode) match(r *row) bool {
	for _, c := range n {
		if c.match(r) {
			return true
		}
	}
	return false
}

func (n notNode) match(r *row) bool { return !n.x.match(r) }

func (matchAll) match(*row) bool { return true }

func (timeMod) match(*row) bool { return true }

func (n *termNode) match(r *row) bool {
	s, _ := r.get("_raw").str()
	return n.re.MatchString(s)
}

func (n *cmpNode) match(r *row) bool {
	v := r.get(n.field)
	if v.isNull() {
		return false
	}
	if n.op == "!=" {
		found := false
		v.each(func(x Value) bool {
			found = n.vals[0].eq(x)
			return !found
		})
		return !found
	}
	found := false
	v.each(func(x Value) bool {
		for _, p := range n.vals {
			if p.test(n.op, x) {
				found = true
				return false
			}
		}
		return true
	})
	return found
}

// pattern is a search value: a literal (possibly numeric) or a wildcard
// pattern, matched case-insensitively.
type pattern struct {
	text     string // as written
	lower    string
	wildcard bool
	num      float64
	isNum    bool
}

func newPattern(s string) pattern {
	p := pattern{text: s, lower: strings.ToLower(s), wildcard: strings.Contains(s, "*")}
	if !p.wildcard {
		p.num, p.isNum = parseNumber(s)
	}
	return p
}

func (p pattern) eq(v Value) bool {
	if p.text == "*" {
		return true
	}
	if p.isNum {
		if f, ok := v.num(); ok {
			return f == p.num
		}
	}
	s, _ := v.str()
	if !p.wildcard {
		return strings.EqualFold(s, p.text)
	}
	return wildcardMatch(p.lower, strings.ToLower(s))
}

func (p pattern) test(op string, v Value) bool {
	if op == "=" {
		return p.eq(v)
	}
	var c int
	if f, ok := v.num(); ok && p.isNum {
		switch {
		case f < p.num:
			c = -1
		case f > p.num:
			c = 1
		}
	} else {
		s, _ := v.str()
		c = strings.Compare(s, p.text)
	}
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// wildcardMatch reports whether s matches pattern p, where '*' matches any
// run of characters. It runs in O(len(p)·len(s)) at worst, with no
// backtracking blow-up.
func wildcardMatch(p, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(p) && p[px] == '*':
			starP, starS = px, sx
			px++
		case px < len(p) && p[px] == s[sx]:
			px++
			sx++
		case starP >= 0:
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}

// newTermNode compiles a bare term: a case-insensitive match in _raw, bounded
// by non-alphanumeric characters (Splunk's breakers) unless a wildcard
// reaches that end.
func newTermNode(text string) *termNode {
	var b strings.Builder
	b.WriteString(`(?is)`)
	if !strings.HasPrefix(text, "*") {
		b.WriteString(`(?:^|[^\pL\pN])`)
	}
	for i, part := range strings.Split(text, "*") {
		if i > 0 {
			b.WriteString(`.*?`)
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	if !strings.HasSuffix(text, "*") {
		b.WriteString(`(?:$|[^\pL\pN])`)
	}
	return &termNode{text: text, re: regexp.MustCompile(b.String())}
}

// parseSearch parses search terms: implicit AND between terms, OR binding
// tighter than AND and NOT tighter still, as in Splunk's search language.
func (p *parser) parseSearch() (searchNode, error) {
	var terms []searchNode
	for !p.atEnd() && !p.peek().is(tOp, ")") {
		if p.peek().is(tOp, ",") {
			p.next()
			continue
		}
		if p.peek().kind == tWord && p.peek().text == "AND" {
			p.next()
			continue
		}
		n, err := p.parseSearchOr()
		if err != nil {
			return nil, err
		}
		terms = append(terms, n)
	}
	switch len(terms) {
	case 0:
		return matchAll{}, nil
	case 1:
		return terms[0], nil
	}
	return andNode(terms), nil
}

func (p *parser) parseSearchOr() (searchNode, error) {
	first, err := p.parseSearchUnary()
	if err != nil {
		return nil, err
	}
	ors := []searchNode{first}
	for p.peek().kind == tWord && p.peek().text == "OR" {
		t := p.next()
		if p.atEnd() || p.peek().is(tOp, ")") {
			return nil, syntaxErr(t.pos, "OR needs a term on its right")
		}
		n, err := p.parseSearchUnary()
		if err != nil {
			return nil, err
		}
		ors = append(ors, n)
	}
	if len(ors) == 1 {
		return first, nil
	}
	return orNode(ors), nil
}

func (p *parser) parseSearchUnary() (searchNode, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.peek()
	if t.kind == tWord && t.text == "NOT" {
		p.next()
		if p.atEnd() || p.peek().is(tOp, ")") {
			return nil, syntaxErr(t.pos, "NOT needs a term on its right")
		}
		x, err := p.parseSearchUnary()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	return p.parseSearchPrimary()
}

func (p *parser) parseSearchPrimary() (searchNode, error) {
	t := p.next()
	switch {
	case t.is(tOp, "("):
		n, err := p.parseSearch()
		if err != nil {
			return nil, err
		}
		if !p.peek().is(tOp, ")") {
			return nil, syntaxErr(t.pos, "unbalanced parentheses: this ( is not closed")
		}
		p.next()
		return n, nil
	case t.kind == tOp && isCmpOp(t.text):
		return nil, syntaxErr(t.pos, "%s needs a field name on its left", t.text)
	case t.kind == tOp:
		return nil, syntaxErr(t.pos, "unexpected %q", t.text)
	case t.kind == tString:
		return newTermNode(t.text), nil
	}
	// A word: a comparison, field IN (…), or a bare term.
	next := p.peek()
	if next.kind == tOp && isCmpOp(next.text) {
		p.next()
		v := p.next()
		if v.kind != tWord && v.kind != tString {
			return nil, syntaxErr(next.pos, "%s%s needs a value", t.text, next.text)
		}
		op := next.text
		if op == "==" {
			op = "="
		}
		field := t.text
		if lf := strings.ToLower(field); lf == "earliest" || lf == "latest" {
			if op != "=" {
				return nil, syntaxErr(next.pos, "%s only takes =", lf)
			}
			return timeMod{which: lf, value: v.text, pos: t.pos}, nil
		}
		return &cmpNode{field: field, op: op, vals: []pattern{newPattern(v.text)}}, nil
	}
	if next.kind == tWord && next.text == "IN" && p.peekAt(1).is(tOp, "(") {
		p.next()
		open := p.next()
		var vals []pattern
		for {
			v := p.next()
			switch {
			case v.is(tOp, ")"):
				if len(vals) == 0 {
					return nil, syntaxErr(open.pos, "IN needs at least one value")
				}
				return &cmpNode{field: t.text, op: "=", vals: vals}, nil
			case v.is(tOp, ","):
			case v.kind == tWord || v.kind == tString:
				vals = append(vals, newPattern(v.text))
			case v.kind == tEOF:
				return nil, syntaxErr(open.pos, "unbalanced parentheses: this ( is not closed")
			default:
				return nil, syntaxErr(v.pos, "unexpected %q in IN list", v.text)
			}
		}
	}
	if t.text == "*" {
		return matchAll{}, nil
	}
	return newTermNode(t.text), nil
}

func isCmpOp(s string) bool {
	switch s {
	case "=", "==", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

// liftTimeModifiers removes earliest= and latest= from the top-level AND of
// a search into c, and refuses them anywhere else.
func liftTimeModifiers(n searchNode, c *searchCmd, allowed bool) (searchNode, error) {
	var terms []searchNode
	switch x := n.(type) {
	case timeMod:
		terms = []searchNode{x}
	case andNode:
		terms = x
	default:
		return n, findTimeMod(n)
	}
	var kept andNode
	for _, t := range terms {
		tm, ok := t.(timeMod)
		if !ok {
			if err := findTimeMod(t); err != nil {
				return nil, err
			}
			kept = append(kept, t)
			continue
		}
		if !allowed {
			return nil, syntaxErr(tm.pos, "%s= is only allowed in the initial search", tm.which)
		}
		if tm.which == "earliest" {
			c.earliest, c.earliestPos = tm.value, tm.pos
		} else {
			c.latest, c.latestPos = tm.value, tm.pos
		}
	}
	switch len(kept) {
	case 0:
		return matchAll{}, nil
	case 1:
		return kept[0], nil
	}
	return kept, nil
}

func findTimeMod(n searchNode) error {
	switch x := n.(type) {
	case timeMod:
		return syntaxErr(x.pos, "%s= must be a top-level term of the search, not inside OR, NOT or parentheses", x.which)
	case andNode:
		for _, c := range x {
			if err := findTimeMod(c); err != nil {
				return err
			}
		}
	case orNode:
		for _, c := range x {
			if err := findTimeMod(c); err != nil {
				return err
			}
		}
	case notNode:
		return findTimeMod(x.x)
	}
	return nil
}
