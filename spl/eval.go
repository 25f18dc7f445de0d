package spl

import (
	"math"
	"regexp"
	"time"

	"github.com/agentscope/agentscope"
)

// Limits on what one expression may build, so a hostile query cannot make
// a row grow without bound.
const (
	maxStringLen = 1 << 20
	maxMVLen     = 10000
	maxRegexMemo = 64
)

// evalCtx is what an expression sees while it is evaluated on one row.
type evalCtx struct {
	row *row
	now time.Time
	// err is the first runtime error; the command that evaluated the
	// expression stops the query with it.
	err error
	// regexps memoises patterns that are not literals.
	regexps map[string]*regexp.Regexp
}

func (c *evalCtx) fail(err error) Value {
	if c.err == nil {
		c.err = err
	}
	return null
}

// str returns a string value, or fails the query if it is too long.
func (c *evalCtx) str(s string) Value {
	if len(s) > maxStringLen {
		return c.fail(agentscope.Errorf(agentscope.ETOOLARGE, "a string value exceeds %d bytes", maxStringLen))
	}
	return strVal(s)
}

// mv returns a multivalue, or fails the query if it has too many values.
func (c *evalCtx) mv(vs []string) Value {
	if len(vs) > maxMVLen {
		return c.fail(agentscope.Errorf(agentscope.ETOOLARGE, "a multivalue field exceeds %d values", maxMVLen))
	}
	return mvVal(vs)
}

// regexp compiles a pattern given at run time, memoising a few.
func (c *evalCtx) regexp(pattern string) (*regexp.Regexp, bool) {
	if re, ok := c.regexps[pattern]; ok {
		return re, true
	}
	re, err := compileRegex(pattern)
	if err != nil {
		c.fail(agentscope.Errorf(agentscope.EINVALID, "invalid regular expression %q: %v", pattern, err))
		return nil, false
	}
	if c.regexps == nil || len(c.regexps) >= maxRegexMemo {
		c.regexps = map[string]*regexp.Regexp{}
	}
	c.regexps[pattern] = re
	return re, true
}

func fmod(x, y float64) float64 { return math.Mod(x, y) }
