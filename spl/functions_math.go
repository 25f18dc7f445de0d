package spl

import (
	"math"
)

func init() {
	math1 := func(f func(float64) float64) *funcDef {
		return &funcDef{min: 1, max: 1, fn: func(c *evalCtx, e *callExpr) Value {
			x, ok := argNum(c, e, 0)
			if !ok {
				return null
			}
			return numVal(f(x))
		}}
	}
	register("abs", math1(math.Abs))
	register("floor", math1(math.Floor))
	register("ceil ceiling", math1(math.Ceil))
	register("sqrt", math1(math.Sqrt))
	register("exp", math1(math.Exp))
	register("ln", math1(math.Log))
	register("pi", &funcDef{min: 0, max: 0, fn: func(*evalCtx, *callExpr) Value { return numVal(math.Pi) }})
	register("round", &funcDef{min: 1, max: 2, fn: func(c *evalCtx, e *callExpr) Value {
		x, ok := argNum(c, e, 0)
		if !ok {
			return null
		}
		digits := 0.0
		if len(e.args) > 1 {
			if digits, ok = argNum(c, e, 1); !ok {
				return null
			}
		}
		p := math.Pow(10, clampF(math.Trunc(digits), 0, 15))
		return numVal(math.Round(x*p) / p)
	}})
	register("pow", &funcDef{min: 2, max: 2, fn: func(c *evalCtx, e *callExpr) Value {
		x, ok := argNum(c, e, 0)
		y, yok := argNum(c, e, 1)
		if !ok || !yok {
			return null
		}
		return numVal(math.Pow(x, y))
	}})
	register("log", &funcDef{min: 1, max: 2, fn: func(c *evalCtx, e *callExpr) Value {
		x, ok := argNum(c, e, 0)
		if !ok {
			return null
		}
		base := 10.0
		if len(e.args) > 1 {
			if base, ok = argNum(c, e, 1); !ok {
				return null
			}
		}
		return numVal(math.Log(x) / math.Log(base))
	}})
	register("min", &funcDef{min: 1, max: -1, fn: extreme(-1)})
	register("max", &funcDef{min: 1, max: -1, fn: extreme(1)})
}

// extreme implements the eval min and max: numbers compare numerically and
// are preferred to strings, like Splunk's.
func extreme(sign int) func(*evalCtx, *callExpr) Value {
	return func(c *evalCtx, e *callExpr) Value {
		best := null
		for i := range e.args {
			arg(c, e, i).each(func(v Value) bool {
				if best.isNull() {
					best = v
					return true
				}
				_, bn := best.num()
				_, vn := v.num()
				switch {
				case vn && !bn:
					best = v
				case vn == bn:
					if cmp, _ := compareValues(v, best); cmp*sign > 0 {
						best = v
					}
				}
				return true
			})
		}
		return best
	}
}
