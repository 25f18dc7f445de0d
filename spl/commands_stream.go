package spl

import (
	"math"
	"strings"
)

// filterOp runs the search command (and the initial search's predicate).
type filterOp struct {
	node searchNode
	next operator
}

func (o *filterOp) push(r *row) error {
	if o.node.match(r) {
		return o.next.push(r)
	}
	return nil
}

func (o *filterOp) finish() error { return o.next.finish() }

type whereOp struct {
	cond expr
	env  *runEnv
	next operator
}

func (o *whereOp) push(r *row) error {
	c := o.env.newEval(r)
	ok := o.cond.eval(c).truthy()
	if c.err != nil {
		return c.err
	}
	if ok {
		return o.next.push(r)
	}
	return nil
}

func (o *whereOp) finish() error { return o.next.finish() }

type evalOp struct {
	cmd  *evalCmd
	env  *runEnv
	next operator
}

func (o *evalOp) push(r *row) error {
	c := o.env.newEval(r)
	for _, a := range o.cmd.assigns {
		v := a.value.eval(c)
		if c.err != nil {
			return c.err
		}
		r.set(a.field, v)
	}
	return o.next.push(r)
}

func (o *evalOp) finish() error { return o.next.finish() }

// tableOp keeps the listed fields (wildcards allowed), in that order.
type tableOp struct {
	fields []string
	env    *runEnv
	next   operator
}

func (o *tableOp) push(r *row) error {
	out := newRow()
	for _, f := range o.fields {
		if !strings.Contains(f, "*") {
			if v := r.get(f); !v.isNull() {
				out.set(f, v)
			}
			continue
		}
		for _, n := range r.names() {
			if wildcardMatch(f, n) {
				out.set(n, r.get(n))
			}
		}
	}
	return o.next.push(out)
}

func (o *tableOp) finish() error {
	o.env.schema = append([]string(nil), o.fields...)
	return o.next.finish()
}

// fieldsOp keeps (+) or removes (-) fields. Keeping also keeps _time and
// _raw, as Splunk's fields command does.
type fieldsOp struct {
	cmd  *fieldsCmd
	env  *runEnv
	next operator
}

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if p == name || (strings.Contains(p, "*") && wildcardMatch(p, name)) {
			return true
		}
	}
	return false
}

func (o *fieldsOp) push(r *row) error {
	for _, n := range r.names() {
		keep := matchesAny(o.cmd.fields, n)
		if o.cmd.remove {
			keep = !keep
		} else if n == "_time" || n == "_raw" {
			keep = true
		}
		if !keep {
			r.remove(n)
		}
	}
	return o.next.push(r)
}

func (o *fieldsOp) finish() error {
	if o.cmd.remove {
		var kept []string
		for _, c := range o.env.schema {
			if !matchesAny(o.cmd.fields, c) {
				kept = append(kept, c)
			}
		}
		o.env.schema = kept
	} else {
		o.env.schema = append([]string(nil), o.cmd.fields...)
	}
	return o.next.finish()
}

type renameOp struct {
	pairs []renamePair
	env   *runEnv
	next  operator
}

// renamed returns the new name of n under pair p, if p applies.
func (p renamePair) renamed(n string) (string, bool) {
	if !strings.Contains(p.from, "*") {
		return p.to, n == p.from
	}
	pre, suf, _ := strings.Cut(p.from, "*")
	if len(n) < len(pre)+len(suf) || !strings.HasPrefix(n, pre) || !strings.HasSuffix(n, suf) {
		return "", false
	}
	mid := n[len(pre) : len(n)-len(suf)]
	return strings.Replace(p.to, "*", mid, 1), true
}

func (o *renameOp) push(r *row) error {
	for _, p := range o.pairs {
		if !strings.Contains(p.from, "*") {
			v := r.get(p.from)
			if p.from == p.to {
				continue
			}
			r.remove(p.from)
			r.set(p.to, v)
			continue
		}
		for _, n := range r.names() {
			if to, ok := p.renamed(n); ok && to != n {
				v := r.get(n)
				r.remove(n)
				r.set(to, v)
			}
		}
	}
	return o.next.push(r)
}

func (o *renameOp) finish() error {
	for i, c := range o.env.schema {
		for _, p := range o.pairs {
			if to, ok := p.renamed(c); ok {
				o.env.schema[i] = to
			}
		}
	}
	return o.next.finish()
}

type rexOp struct {
	cmd  *rexCmd
	next operator
}

func (o *rexOp) push(r *row) error {
	s, ok := r.get(o.cmd.field).str()
	if !ok {
		return o.next.push(r)
	}
	n := o.cmd.maxMatch
	if n == 0 {
		n = maxMVLen
	}
	matches := o.cmd.re.FindAllStringSubmatchIndex(s, n)
	if len(matches) == 0 {
		return o.next.push(r)
	}
	for gi, name := range o.cmd.re.SubexpNames() {
		if name == "" {
			continue
		}
		var vals []string
		for _, m := range matches {
			if m[2*gi] >= 0 {
				vals = append(vals, s[m[2*gi]:m[2*gi+1]])
			}
		}
		if len(vals) > 0 {
			r.set(name, mvVal(vals))
		}
	}
	return o.next.push(r)
}

func (o *rexOp) finish() error { return o.next.finish() }

type spathOp struct {
	cmd  *spathCmd
	next operator
}

func (o *spathOp) push(r *row) error {
	s, ok := r.get(o.cmd.input).str()
	if !ok {
		return o.next.push(r)
	}
	if o.cmd.path == "" {
		found := map[string][]Value{}
		var order []string
		flattenJSON([]byte(s), "", func(k string, v Value) {
			k = strings.TrimPrefix(k, ".")
			if _, ok := found[k]; !ok {
				order = append(order, k)
			}
			found[k] = append(found[k], v)
		})
		for _, k := range order {
			if k != "" && r.get(k).isNull() {
				r.set(k, collapse(found[k]))
			}
		}
		return o.next.push(r)
	}
	out := o.cmd.output
	if out == "" {
		out = o.cmd.path
	}
	c := &evalCtx{row: r}
	if v := spathValue(c, s, o.cmd.path); !v.isNull() {
		r.set(out, v)
	}
	if c.err != nil {
		return c.err
	}
	return o.next.push(r)
}

func (o *spathOp) finish() error { return o.next.finish() }

// binOp puts a field into buckets: _time to the start of its span, numbers
// to a "lo-hi" range string, as Splunk's bin does.
type binOp struct {
	cmd  *binCmd
	next operator
}

func (o *binOp) push(r *row) error {
	v := r.get(o.cmd.field)
	f, ok := v.num()
	if !ok {
		return o.next.push(r)
	}
	if o.cmd.span.unit != "" {
		if t, ok := epochToTime(f); ok {
			r.set(o.cmd.as, numVal(timeToEpoch(timeBucket(t, o.cmd.span))))
		}
		return o.next.push(r)
	}
	w := o.cmd.span.n
	lo := math.Floor(f/w) * w
	r.set(o.cmd.as, strVal(formatNumber(lo)+"-"+formatNumber(lo+w)))
	return o.next.push(r)
}

func (o *binOp) finish() error { return o.next.finish() }

// fillnullOp sets null fields to a value. With a field list it streams;
// without, it fills every field present in any result row, so it buffers.
type fillnullOp struct {
	cmd      *fillnullCmd
	reversed bool
	env      *runEnv
	next     operator
	rows     []*row
}

func (o *fillnullOp) push(r *row) error {
	if len(o.cmd.fields) > 0 {
		for _, f := range o.cmd.fields {
			if r.get(f).isNull() {
				r.set(f, o.cmd.value)
			}
		}
		return o.next.push(r)
	}
	o.rows = append(o.rows, r.keep())
	return o.env.bufferLimit("fillnull without a field list", len(o.rows))
}

func (o *fillnullOp) finish() error {
	if len(o.cmd.fields) > 0 {
		return o.next.finish()
	}
	names := map[string]bool{}
	for _, r := range o.rows {
		for _, n := range r.names() {
			names[n] = true
		}
	}
	for _, c := range o.env.schema {
		if !strings.Contains(c, "*") {
			names[c] = true
		}
	}
	if o.reversed {
		reverseRows(o.rows)
	}
	for _, r := range o.rows {
		for n := range names {
			if r.get(n).isNull() {
				r.set(n, o.cmd.value)
			}
		}
	}
	return emitAll(o.env, o.rows, o.next)
}
