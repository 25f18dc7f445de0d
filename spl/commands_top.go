package spl

import (
	"math"
)

// topGroup counts value combinations within one by-group.
type topGroup struct {
	by     []Value
	counts map[string]*topCount
	total  int64
}

type topCount struct {
	vals []Value
	n    int64
}

// topOp implements top and rare: count each combination of the fields'
// values, per by-group, and keep the most (or least) frequent. Memory is
// one counter per distinct combination.
type topOp struct {
	cmd    *topCmd
	env    *runEnv
	next   operator
	groups map[string]*topGroup
}

func (o *topOp) push(r *row) error {
	byKeys, byVals := groupKeys(r, o.cmd.by)
	if len(byKeys) == 0 {
		return nil
	}
	keys, vals := groupKeys(r, o.cmd.fields)
	for i, bk := range byKeys {
		g := o.groups[bk]
		if g == nil {
			g = &topGroup{by: byVals[i], counts: map[string]*topCount{}}
			o.groups[bk] = g
		}
		for j, k := range keys {
			c := g.counts[k]
			if c == nil {
				c = &topCount{vals: vals[j]}
				g.counts[k] = c
				if err := o.env.bufferLimit(o.cmd.name()+" values", len(g.counts)); err != nil {
					return err
				}
			}
			c.n++
			g.total++
		}
	}
	return nil
}

func (o *topOp) finish() error {
	gs := make([]*topGroup, 0, len(o.groups))
	for _, g := range o.groups {
		if err := o.env.checkCtx(len(gs)); err != nil {
			return err
		}
		gs = append(gs, g)
	}
	err := sortFunc(o.env, gs, func(a, b *topGroup) int {
		for k := range a.by {
			if c := sortOrder(a.by[k], b.by[k]); c != 0 {
				return c
			}
		}
		return 0
	})
	if err != nil {
		return err
	}
	var rows []*row
	for _, g := range gs {
		cs := make([]*topCount, 0, len(g.counts))
		for _, c := range g.counts {
			if err := o.env.checkCtx(len(cs)); err != nil {
				return err
			}
			cs = append(cs, c)
		}
		err := sortFunc(o.env, cs, func(a, b *topCount) int {
			if a.n != b.n {
				if (a.n > b.n) != o.cmd.rare {
					return -1
				}
				return 1
			}
			for k := range a.vals {
				if c := sortOrder(a.vals[k], b.vals[k]); c != 0 {
					return c
				}
			}
			return 0
		})
		if err != nil {
			return err
		}
		var rest int64
		if o.cmd.limit > 0 && len(cs) > o.cmd.limit {
			for _, c := range cs[o.cmd.limit:] {
				rest += c.n
			}
			cs = cs[:o.cmd.limit]
		}
		emit := func(vals []Value, n int64) {
			r := newRow()
			for i, f := range o.cmd.by {
				r.set(f, g.by[i])
			}
			for i, f := range o.cmd.fields {
				r.set(f, vals[i])
			}
			if o.cmd.showCount {
				r.set(o.cmd.countField, numVal(float64(n)))
			}
			if o.cmd.showPerc {
				r.set(o.cmd.percentField, numVal(math.Round(float64(n)/float64(g.total)*100*1e6)/1e6))
			}
			rows = append(rows, r)
		}
		for i, c := range cs {
			if err := o.env.checkCtx(i); err != nil {
				return err
			}
			emit(c.vals, c.n)
		}
		if o.cmd.useOther && rest > 0 {
			other := make([]Value, len(o.cmd.fields))
			for i := range other {
				other[i] = strVal(o.cmd.otherStr)
			}
			emit(other, rest)
		}
	}
	schema := append(append([]string(nil), o.cmd.by...), o.cmd.fields...)
	if o.cmd.showCount {
		schema = append(schema, o.cmd.countField)
	}
	if o.cmd.showPerc {
		schema = append(schema, o.cmd.percentField)
	}
	o.env.schema = schema
	o.groups = nil
	return emitAll(o.env, rows, o.next)
}
