package spl

import (
	"strings"
)

// expr is a parsed eval/where expression.
type expr interface {
	eval(c *evalCtx) Value
}

type litExpr struct{ v Value }

type fieldExpr struct{ name string }

type unaryExpr struct {
	op string // "-" or "NOT"
	x  expr
}

type binExpr struct {
	op   string // upper-cased for keywords: AND OR XOR LIKE
	l, r expr
}

type callExpr struct {
	name string
	pos  int
	def  *funcDef
	args []expr
	// state holds what a function precompiles from literal arguments,
	// such as a regular expression.
	state any
}

// isBool reports whether e yields a boolean, which only conditions may.
func isBool(e expr) bool {
	switch x := e.(type) {
	case litExpr:
		return x.v.k == kBool
	case unaryExpr:
		return x.op == "NOT"
	case binExpr:
		switch x.op {
		case "AND", "OR", "XOR", "LIKE", "=", "==", "!=", "<", "<=", ">", ">=":
			return true
		}
	case *callExpr:
		return x.def.bool
	}
	return false
}

// parseExpr parses a full expression: OR binds loosest, then XOR, AND,
// NOT, comparisons, additive (+ - .), multiplicative, unary minus.
func (p *parser) parseExpr() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseBinary(0)
}

var precedence = [][]string{
	{"OR"},
	{"XOR"},
	{"AND"},
	nil, // NOT, handled as a prefix
	{"=", "==", "!=", "<", "<=", ">", ">=", "LIKE"},
	{"+", "-", "."},
	{"*", "/", "%"},
}

func (p *parser) opAt(level int) (token, string, bool) {
	t := p.peek()
	var op string
	switch t.kind {
	case tOp:
		op = t.text
	case tWord:
		op = strings.ToUpper(t.text)
		switch op {
		case "AND", "OR", "XOR", "LIKE":
		default:
			return t, "", false
		}
	default:
		return t, "", false
	}
	for _, o := range precedence[level] {
		if o == op {
			return t, op, true
		}
	}
	return t, "", false
}

func (p *parser) parseBinary(level int) (expr, error) {
	if level >= len(precedence) {
		return p.parseUnary()
	}
	if precedence[level] == nil {
		return p.parseNot(level)
	}
	l, err := p.parseBinary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t, op, ok := p.opAt(level)
		if !ok {
			return l, nil
		}
		p.next()
		r, err := p.parseBinary(level + 1)
		if err != nil {
			return nil, err
		}
		if err := p.checkOperands(t, op, l, r); err != nil {
			return nil, err
		}
		l = binExpr{op: op, l: l, r: r}
		// Comparisons do not chain: a<b<c is an error, as in Splunk.
		if level == 4 {
			if _, _, again := p.opAt(level); again {
				return nil, p.errorf(p.peek(), "comparisons cannot be chained; combine them with AND")
			}
		}
	}
}

func (p *parser) parseNot(level int) (expr, error) {
	t := p.peek()
	if t.isWord("NOT") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot(level)
		if err != nil {
			return nil, err
		}
		if !isBool(x) {
			return nil, p.errorf(t, "NOT needs a boolean operand")
		}
		return unaryExpr{op: "NOT", x: x}, nil
	}
	return p.parseBinary(level + 1)
}

func (p *parser) checkOperands(t token, op string, l, r expr) error {
	switch op {
	case "AND", "OR", "XOR":
		if !isBool(l) || !isBool(r) {
			return p.errorf(t, "%s needs boolean operands (comparisons or functions such as isnull)", op)
		}
	default:
		if isBool(l) || isBool(r) {
			return p.errorf(t, "operator %s cannot take a boolean operand; use if(…) to turn a condition into a value", op)
		}
	}
	return nil
}

func (p *parser) parseUnary() (expr, error) {
	t := p.peek()
	if t.is(tOp, "-") || t.is(tOp, "+") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if isBool(x) {
			return nil, p.errorf(t, "unary %s cannot take a boolean operand", t.text)
		}
		if t.text == "+" {
			return x, nil
		}
		return unaryExpr{op: "-", x: x}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tNumber:
		return litExpr{literal(t.text)}, nil
	case tString:
		return litExpr{strVal(t.text)}, nil
	case tField:
		return fieldExpr{t.text}, nil
	case tWord:
		if p.peek().is(tOp, "(") && p.peek().pos == t.end {
			return p.parseCall(t)
		}
		switch strings.ToUpper(t.text) {
		case "AND", "OR", "XOR", "NOT", "LIKE":
			return nil, p.errorf(t, "%s needs an operand before it", t.text)
		}
		return fieldExpr{t.text}, nil
	case tEOF:
		return nil, syntaxErr(t.pos, "%s: expression ends too early", p.cmd)
	}
	if t.is(tOp, "(") {
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if !p.peek().is(tOp, ")") {
			if p.atEnd() {
				return nil, syntaxErr(t.pos, "unbalanced parentheses: this ( is not closed")
			}
			return nil, p.errorf(p.peek(), "expected ), got %q", tokenText(p.peek()))
		}
		p.next()
		return x, nil
	}
	if t.is(tOp, ")") {
		return nil, syntaxErr(t.pos, "unbalanced parentheses: unexpected )")
	}
	return nil, p.errorf(t, "unexpected %q in expression", tokenText(t))
}

func (p *parser) parseCall(name token) (expr, error) {
	open := p.next()
	lname := strings.ToLower(name.text)
	def, ok := functions[lname]
	if !ok {
		return nil, syntaxErr(name.pos, "%s: unknown function %q", p.cmd, name.text)
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var args []expr
	if p.peek().is(tOp, ")") {
		p.next()
	} else {
		for {
			a, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			t := p.next()
			if t.is(tOp, ")") {
				break
			}
			if t.kind == tEOF {
				return nil, syntaxErr(open.pos, "unbalanced parentheses: this ( is not closed")
			}
			if !t.is(tOp, ",") {
				return nil, p.errorf(t, "expected , or ) in the arguments of %s, got %q", lname, tokenText(t))
			}
		}
	}
	if len(args) < def.min || (def.max >= 0 && len(args) > def.max) {
		return nil, syntaxErr(name.pos, "%s: function %s takes %s, got %d", p.cmd, lname, def.arity(), len(args))
	}
	for i, a := range args {
		want := def.boolArg != nil && def.boolArg(i)
		if want && !isBool(a) {
			return nil, syntaxErr(name.pos, "%s: argument %d of %s must be a condition", p.cmd, i+1, lname)
		}
		if !want && isBool(a) {
			return nil, syntaxErr(name.pos, "%s: argument %d of %s cannot be a condition; use if(…)", p.cmd, i+1, lname)
		}
	}
	c := &callExpr{name: lname, pos: name.pos, def: def, args: args}
	if def.compile != nil {
		if err := def.compile(c); err != nil {
			return nil, syntaxErr(name.pos, "%s: %s: %v", p.cmd, lname, err)
		}
	}
	return c, nil
}

func (e litExpr) eval(*evalCtx) Value     { return e.v }
func (e fieldExpr) eval(c *evalCtx) Value { return c.row.get(e.name) }
func (e *callExpr) eval(c *evalCtx) Value { return e.def.fn(c, e) }

func (e unaryExpr) eval(c *evalCtx) Value {
	v := e.x.eval(c)
	if e.op == "NOT" {
		if v.k != kBool {
			return null
		}
		return boolVal(!v.truthy())
	}
	if f, ok := v.num(); ok {
		return numVal(-f)
	}
	return null
}

func (e binExpr) eval(c *evalCtx) Value {
	switch e.op {
	case "AND":
		l := e.l.eval(c)
		if l.k == kBool && !l.truthy() {
			return boolVal(false)
		}
		r := e.r.eval(c)
		return boolVal(l.truthy() && r.truthy())
	case "OR":
		l := e.l.eval(c)
		if l.truthy() {
			return l
		}
		return boolVal(e.r.eval(c).truthy())
	case "XOR":
		return boolVal(e.l.eval(c).truthy() != e.r.eval(c).truthy())
	}
	l, r := e.l.eval(c), e.r.eval(c)
	switch e.op {
	case "=", "==", "!=", "<", "<=", ">", ">=":
		return compareOp(e.op, l, r)
	case "LIKE":
		return likeValue(c, l, r)
	case ".":
		ls, lok := l.str()
		rs, rok := r.str()
		if !lok || !rok {
			return null
		}
		return c.str(ls + rs)
	case "+":
		if x, ok := l.num(); ok {
			if y, ok := r.num(); ok {
				return numVal(x + y)
			}
		}
		if l.k == kStr && r.k == kStr {
			return c.str(l.s + r.s)
		}
		return null
	}
	x, xok := l.num()
	y, yok := r.num()
	if !xok || !yok {
		return null
	}
	switch e.op {
	case "-":
		return numVal(x - y)
	case "*":
		return numVal(x * y)
	case "/":
		if y == 0 {
			return null
		}
		return numVal(x / y)
	case "%":
		if y == 0 {
			return null
		}
		return numVal(fmod(x, y))
	}
	return null
}

// compareOp compares two values the way eval does: numerically when both
// are numbers, else as case-sensitive strings; a multivalue matches if any
// of its values does; null never matches.
func compareOp(op string, l, r Value) Value {
	if l.isNull() || r.isNull() {
		return boolVal(false)
	}
	res := false
	l.each(func(a Value) bool {
		r.each(func(b Value) bool {
			c, _ := compareValues(a, b)
			switch op {
			case "=", "==":
				res = c == 0
			case "!=":
				res = c != 0
			case "<":
				res = c < 0
			case "<=":
				res = c <= 0
			case ">":
				res = c > 0
			case ">=":
				res = c >= 0
			}
			return !res
		})
		return !res
	})
	return boolVal(res)
}
