package spl

func init() {
	register("now time", &funcDef{min: 0, max: 0, fn: func(c *evalCtx, _ *callExpr) Value {
		return numVal(float64(c.now.Unix()))
	}})
	register("strftime", &funcDef{min: 2, max: 2, fn: func(c *evalCtx, e *callExpr) Value {
		f, ok := argNum(c, e, 0)
		format, fok := argStr(c, e, 1)
		if !ok || !fok {
			return null
		}
		t, ok := epochToTime(f)
		if !ok {
			return null
		}
		return c.str(strftime(t, format))
	}})
	register("strptime", &funcDef{min: 2, max: 2, fn: func(c *evalCtx, e *callExpr) Value {
		s, ok := argStr(c, e, 0)
		format, fok := argStr(c, e, 1)
		if !ok || !fok {
			return null
		}
		t, ok := strptime(s, format)
		if !ok {
			return null
		}
		return numVal(timeToEpoch(t))
	}})
	register("relative_time", &funcDef{min: 2, max: 2, fn: func(c *evalCtx, e *callExpr) Value {
		f, ok := argNum(c, e, 0)
		spec, sok := argStr(c, e, 1)
		if !ok || !sok {
			return null
		}
		t, ok := epochToTime(f)
		if !ok {
			return null
		}
		r, err := parseTimeModifier(spec, t)
		if err != nil {
			return null
		}
		return numVal(timeToEpoch(r))
	}})
}
