package spl

// maxGroupCombos bounds the groups one row joins when by-fields are
// multivalued (each value of each field is a group, as in Splunk).
const maxGroupCombos = 1000

// groupKeys returns the combinations of by-values of a row, with their
// keys. A row with a null by-field joins no group, as in Splunk.
func groupKeys(r *row, by []string) ([]string, [][]Value) {
	keys := []string{""}
	vals := [][]Value{nil}
	for i, f := range by {
		v := r.get(f)
		if v.isNull() {
			return nil, nil
		}
		var nk []string
		var nv [][]Value
		v.each(func(x Value) bool {
			s, _ := x.str()
			for j := range keys {
				k := keys[j]
				if i > 0 {
					k += "\x00"
				}
				nk = append(nk, k+s)
				nv = append(nv, append(append([]Value(nil), vals[j]...), x))
				if len(nk) >= maxGroupCombos {
					return false
				}
			}
			return true
		})
		keys, vals = nk, nv
	}
	return keys, vals
}

// statsGroup is one group of stats: its by-values and one state per
// aggregation.
type statsGroup struct {
	by   []Value
	accs []*accum
}

// groupTable aggregates rows by the by-fields as they stream; memory is one
// statsGroup per distinct combination.
type groupTable struct {
	aggs     []aggCall
	by       []string
	reversed bool
	groups   map[string]*statsGroup
	env      *runEnv
	cmd      string
	// vals and buf are feed's scratch space.
	vals []Value
	buf  []byte
}

func newGroupTable(cmd string, aggs []aggCall, by []string, reversed bool, env *runEnv) *groupTable {
	return &groupTable{aggs: aggs, by: by, reversed: reversed, groups: map[string]*statsGroup{}, env: env, cmd: cmd}
}

func (t *groupTable) group(key string, by []Value) (*statsGroup, error) {
	g := t.groups[key]
	if g == nil {
		g = &statsGroup{by: by, accs: make([]*accum, len(t.aggs))}
		for i := range t.aggs {
			g.accs[i] = newAccum(&t.aggs[i], t.reversed)
		}
		t.groups[key] = g
		if err := t.env.bufferLimit(t.cmd+" groups", len(t.groups)); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// feed feeds a row to its groups. When every by-field has one value, as is
// usual, it finds the group without allocating.
func (t *groupTable) feed(r *row) error {
	vals, buf := t.vals[:0], t.buf[:0]
	for i, f := range t.by {
		v := r.get(f)
		if v.isNull() {
			return nil
		}
		if v.k == kMV {
			_, err := t.add(r)
			return err
		}
		s, _ := v.str()
		if i > 0 {
			buf = append(buf, 0)
		}
		buf = append(buf, s...)
		vals = append(vals, v)
	}
	t.vals, t.buf = vals, buf
	g := t.groups[string(buf)]
	if g == nil {
		var err error
		if g, err = t.group(string(buf), append([]Value(nil), vals...)); err != nil {
			return err
		}
	}
	for _, a := range g.accs {
		a.add(r)
	}
	return nil
}

// add feeds a row to its groups and returns their keys.
func (t *groupTable) add(r *row) ([]string, error) {
	keys, vals := groupKeys(r, t.by)
	for i, k := range keys {
		g, err := t.group(k, vals[i])
		if err != nil {
			return nil, err
		}
		for _, a := range g.accs {
			a.add(r)
		}
	}
	return keys, nil
}

// sorted returns the groups ordered by their by-values.
func (t *groupTable) sorted() ([]*statsGroup, error) {
	gs := make([]*statsGroup, 0, len(t.groups))
	for _, g := range t.groups {
		if err := t.env.checkCtx(len(gs)); err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	err := sortFunc(t.env, gs, func(a, b *statsGroup) int {
		for k := range a.by {
			if c := sortOrder(a.by[k], b.by[k]); c != 0 {
				return c
			}
		}
		return 0
	})
	return gs, err
}

type statsOp struct {
	cmd   *statsCmd
	table *groupTable
	env   *runEnv
	next  operator
}

func newStatsOp(c *statsCmd, reversed bool, env *runEnv, next operator) *statsOp {
	return &statsOp{cmd: c, table: newGroupTable("stats", c.aggs, c.by, reversed, env), env: env, next: next}
}

func (o *statsOp) push(r *row) error {
	return o.table.feed(r)
}

func (o *statsOp) finish() error {
	if len(o.cmd.by) == 0 && len(o.table.groups) == 0 {
		// stats over nothing still answers one row: count is 0.
		if _, err := o.table.group("", nil); err != nil {
			return err
		}
	}
	gs, err := o.table.sorted()
	if err != nil {
		return err
	}
	rows := make([]*row, 0, len(gs))
	for i, g := range gs {
		if err := o.env.checkCtx(i); err != nil {
			return err
		}
		r := newRow()
		for i, f := range o.cmd.by {
			r.set(f, g.by[i])
		}
		for i, a := range g.accs {
			r.set(o.cmd.aggs[i].as, a.result())
		}
		rows = append(rows, r)
	}
	o.table.groups = nil
	o.env.schema = append(append([]string(nil), o.cmd.by...), aggNamesOf(o.cmd.aggs)...)
	return emitAll(o.env, rows, o.next)
}

func aggNamesOf(aggs []aggCall) []string {
	out := make([]string, len(aggs))
	for i, a := range aggs {
		out[i] = a.as
	}
	return out
}

// eventstatsOp adds each row's group aggregates to the row. It must see
// every row before it can emit the first, so it buffers its input up to
// the buffer cap.
type eventstatsOp struct {
	cmd      *statsCmd
	reversed bool
	table    *groupTable
	env      *runEnv
	next     operator
	rows     []*row
	keys     []string // each row's group; "\x00none" for none
}

func (o *eventstatsOp) push(r *row) error {
	if o.table == nil {
		o.table = newGroupTable("eventstats", o.cmd.aggs, o.cmd.by, o.reversed, o.env)
	}
	keys, err := o.table.add(r)
	if err != nil {
		return err
	}
	o.rows = append(o.rows, r.keep())
	k := "\x00none"
	if len(keys) > 0 {
		// A row in several groups (multivalue by-field) takes the first.
		k = keys[0]
	}
	o.keys = append(o.keys, k)
	return o.env.bufferLimit("eventstats", len(o.rows))
}

func (o *eventstatsOp) finish() error {
	if o.table == nil {
		return o.next.finish()
	}
	results := map[string][]Value{}
	n := 0
	for k, g := range o.table.groups {
		if err := o.env.checkCtx(n); err != nil {
			return err
		}
		n++
		vs := make([]Value, len(g.accs))
		for i, a := range g.accs {
			vs[i] = a.result()
		}
		results[k] = vs
	}
	for i, r := range o.rows {
		if err := o.env.checkCtx(i); err != nil {
			return err
		}
		if vs, ok := results[o.keys[i]]; ok {
			for j, a := range o.cmd.aggs {
				r.set(a.as, vs[j])
			}
		}
	}
	if o.reversed {
		reverseRows(o.rows)
	}
	return emitAll(o.env, o.rows, o.next)
}
