package spl

import (
	"fmt"
	"regexp"
	"strings"
)

// funcDef describes one eval function: its arity, whether it yields a
// condition, which arguments must be conditions, and its implementation.
type funcDef struct {
	min, max int // max < 0: any number
	bool     bool
	boolArg  func(i int) bool
	// compile checks and precompiles literal arguments at parse time.
	compile func(*callExpr) error
	fn      func(c *evalCtx, e *callExpr) Value
}

func (d *funcDef) arity() string {
	switch {
	case d.min == d.max && d.min == 1:
		return "1 argument"
	case d.min == d.max:
		return fmt.Sprintf("%d arguments", d.min)
	case d.max < 0:
		return fmt.Sprintf("at least %d arguments", d.min)
	}
	return fmt.Sprintf("%d to %d arguments", d.min, d.max)
}

// functions is the table of eval functions, filled by the functions_*.go
// files.
var functions = map[string]*funcDef{}

func register(names string, d *funcDef) {
	for _, n := range strings.Fields(names) {
		functions[n] = d
	}
}

// arg evaluates the i-th argument, or returns null if it was not given.
func arg(c *evalCtx, e *callExpr, i int) Value {
	if i >= len(e.args) {
		return null
	}
	return e.args[i].eval(c)
}

func argStr(c *evalCtx, e *callExpr, i int) (string, bool) { return arg(c, e, i).str() }

func argNum(c *evalCtx, e *callExpr, i int) (float64, bool) { return arg(c, e, i).num() }

// literalArg returns argument i when it is a string literal.
func literalArg(e *callExpr, i int) (string, bool) {
	if i >= len(e.args) {
		return "", false
	}
	l, ok := e.args[i].(litExpr)
	if !ok {
		return "", false
	}
	return l.v.str()
}

// compileRegex compiles a PCRE-style pattern as Go's RE2: named groups
// written (?<name>…) become (?P<name>…). Look-arounds and back-references
// are not supported by RE2 and fail here with its message.
func compileRegex(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(strings.ReplaceAll(pattern, "(?<", "(?P<"))
}

// regexArg precompiles argument i when it is a literal.
func regexArg(i int) func(*callExpr) error {
	return func(e *callExpr) error {
		s, ok := literalArg(e, i)
		if !ok {
			return nil
		}
		re, err := compileRegex(s)
		if err != nil {
			return fmt.Errorf("invalid regular expression: %v", err)
		}
		e.state = re
		return nil
	}
}

// regexOf returns the compiled pattern of argument i.
func regexOf(c *evalCtx, e *callExpr, i int) (*regexp.Regexp, bool) {
	if re, ok := e.state.(*regexp.Regexp); ok {
		return re, true
	}
	s, ok := argStr(c, e, i)
	if !ok {
		return nil, false
	}
	return c.regexp(s)
}

func init() {
	register("if", &funcDef{min: 3, max: 3, boolArg: func(i int) bool { return i == 0 },
		fn: func(c *evalCtx, e *callExpr) Value {
			if e.args[0].eval(c).truthy() {
				return e.args[1].eval(c)
			}
			return e.args[2].eval(c)
		}})
	register("case", &funcDef{min: 2, max: -1, boolArg: func(i int) bool { return i%2 == 0 },
		compile: func(e *callExpr) error {
			if len(e.args)%2 != 0 {
				return fmt.Errorf("takes condition, value pairs, got %d arguments", len(e.args))
			}
			return nil
		},
		fn: func(c *evalCtx, e *callExpr) Value {
			for i := 0; i+1 < len(e.args); i += 2 {
				if e.args[i].eval(c).truthy() {
					return e.args[i+1].eval(c)
				}
			}
			return null
		}})
	register("coalesce", &funcDef{min: 1, max: -1, fn: func(c *evalCtx, e *callExpr) Value {
		for _, a := range e.args {
			if v := a.eval(c); !v.isNull() {
				return v
			}
		}
		return null
	}})
	register("null", &funcDef{min: 0, max: 0, fn: func(*evalCtx, *callExpr) Value { return null }})
	register("true", &funcDef{min: 0, max: 0, bool: true, fn: func(*evalCtx, *callExpr) Value { return boolVal(true) }})
	register("false", &funcDef{min: 0, max: 0, bool: true, fn: func(*evalCtx, *callExpr) Value { return boolVal(false) }})
	register("isnull", &funcDef{min: 1, max: 1, bool: true, fn: func(c *evalCtx, e *callExpr) Value {
		return boolVal(arg(c, e, 0).isNull())
	}})
	register("isnotnull", &funcDef{min: 1, max: 1, bool: true, fn: func(c *evalCtx, e *callExpr) Value {
		return boolVal(!arg(c, e, 0).isNull())
	}})
	register("isnum", &funcDef{min: 1, max: 1, bool: true, fn: func(c *evalCtx, e *callExpr) Value {
		v := arg(c, e, 0)
		_, ok := v.num()
		return boolVal(ok && v.k != kMV)
	}})
	register("isint", &funcDef{min: 1, max: 1, bool: true, fn: func(c *evalCtx, e *callExpr) Value {
		v := arg(c, e, 0)
		f, ok := v.num()
		return boolVal(ok && v.k != kMV && f == float64(int64(f)))
	}})
	register("isstr", &funcDef{min: 1, max: 1, bool: true, fn: func(c *evalCtx, e *callExpr) Value {
		v := arg(c, e, 0)
		_, num := v.num()
		return boolVal(v.k == kStr && !num)
	}})
	register("typeof", &funcDef{min: 1, max: 1, fn: func(c *evalCtx, e *callExpr) Value {
		v := arg(c, e, 0)
		switch v.k {
		case kNull:
			return strVal("Invalid")
		case kMV:
			return strVal("Multivalue")
		}
		if _, ok := v.num(); ok {
			return strVal("Number")
		}
		return strVal("String")
	}})
	register("like", &funcDef{min: 2, max: 2, bool: true, fn: func(c *evalCtx, e *callExpr) Value {
		return likeValue(c, arg(c, e, 0), arg(c, e, 1))
	}})
	register("match", &funcDef{min: 2, max: 2, bool: true, compile: regexArg(1), fn: func(c *evalCtx, e *callExpr) Value {
		s, ok := argStr(c, e, 0)
		if !ok {
			return boolVal(false)
		}
		re, ok := regexOf(c, e, 1)
		return boolVal(ok && re.MatchString(s))
	}})
}

// likeValue implements like(s, pattern) and s LIKE pattern: SQL wildcards,
// % for any run of characters and _ for one character, case-sensitive.
func likeValue(c *evalCtx, v, pat Value) Value {
	s, ok := v.str()
	p, pok := pat.str()
	if !ok || !pok {
		return boolVal(false)
	}
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	re, ok := c.regexp(b.String())
	return boolVal(ok && re.MatchString(s))
}
