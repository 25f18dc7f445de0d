package spl

import (
	"container/heap"
	"strconv"
	"strings"
)

// headOp keeps the first n results. Fed oldest first, the first results in
// Splunk's order are the last pushed, so it keeps a ring of n.
type headOp struct {
	n        int
	reversed bool
	seen     int
	ring     *ring
	env      *runEnv
	next     operator
}

func newHeadOp(n int, reversed bool, env *runEnv, next operator) *headOp {
	o := &headOp{n: n, reversed: reversed, env: env, next: next}
	if reversed {
		o.ring = newRing(n)
	}
	return o
}

func (o *headOp) push(r *row) error {
	if o.reversed {
		o.ring.add(r)
		return nil
	}
	if o.seen >= o.n {
		return errDone
	}
	o.seen++
	if err := o.next.push(r); err != nil {
		return err
	}
	if o.seen >= o.n {
		return errDone
	}
	return nil
}

func (o *headOp) finish() error {
	if o.reversed {
		return emitAll(o.env, o.ring.newestFirst(), o.next)
	}
	return o.next.finish()
}

// tailOp returns the last n results, last first. Fed oldest first, those
// are simply the first n pushed.
type tailOp struct {
	n        int
	reversed bool
	seen     int
	ring     *ring
	env      *runEnv
	next     operator
}

func newTailOp(n int, reversed bool, env *runEnv, next operator) *tailOp {
	o := &tailOp{n: n, reversed: reversed, env: env, next: next}
	if !reversed {
		o.ring = newRing(n)
	}
	return o
}

func (o *tailOp) push(r *row) error {
	if !o.reversed {
		o.ring.add(r)
		return nil
	}
	if o.seen >= o.n {
		return errDone
	}
	o.seen++
	if err := o.next.push(r); err != nil {
		return err
	}
	if o.seen >= o.n {
		return errDone
	}
	return nil
}

func (o *tailOp) finish() error {
	if !o.reversed {
		return emitAll(o.env, o.ring.newestFirst(), o.next)
	}
	return o.next.finish()
}

// dedupOp keeps the first n results of each combination of values. In
// order it streams; fed oldest first, it keeps the last n of each key and
// emits them newest first at the end (memory: n rows per distinct key).
type dedupOp struct {
	cmd      *dedupCmd
	reversed bool
	env      *runEnv
	next     operator
	seen     map[string]int
	kept     map[string]*ring
	order    map[*row]int
	arrivals int
}

func (o *dedupOp) key(r *row) (string, bool) {
	var b strings.Builder
	for i, f := range o.cmd.fields {
		v := r.get(f)
		if v.isNull() {
			return "", false
		}
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(strings.Join(v.values(), "\x1f"))
	}
	return b.String(), true
}

func (o *dedupOp) push(r *row) error {
	k, ok := o.key(r)
	if !o.reversed {
		if !ok {
			if o.cmd.keepEmpty {
				return o.next.push(r)
			}
			return nil
		}
		o.seen[k]++
		if o.seen[k] > o.cmd.n {
			return nil
		}
		return o.next.push(r)
	}
	if !ok && !o.cmd.keepEmpty {
		return nil
	}
	if o.kept == nil {
		o.kept, o.order = map[string]*ring{}, map[*row]int{}
	}
	o.arrivals++
	o.order[r] = o.arrivals
	if !ok {
		k = "\x00empty\x00" + strconv.Itoa(o.arrivals)
		o.kept[k] = newRing(1)
	}
	g := o.kept[k]
	if g == nil {
		g = newRing(o.cmd.n)
		o.kept[k] = g
	}
	if len(g.rows) == g.n {
		delete(o.order, g.rows[g.start])
	}
	g.add(r)
	return o.env.bufferLimit("dedup", len(o.order))
}

func (o *dedupOp) finish() error {
	if !o.reversed {
		return o.next.finish()
	}
	rows := make([]*row, 0, len(o.order))
	for r := range o.order {
		if err := o.env.checkCtx(len(rows)); err != nil {
			return err
		}
		rows = append(rows, r)
	}
	if err := sortFunc(o.env, rows, func(a, b *row) int { return o.order[b] - o.order[a] }); err != nil {
		return err
	}
	return emitAll(o.env, rows, o.next)
}

// sortItem is a row with its sort keys extracted and its place in Splunk's
// order, which breaks ties (sort is stable).
type sortItem struct {
	r    *row
	keys []Value
	ord  int
}

// sortOp orders results. With a limit (10000 by default, as Splunk) it
// keeps only the best limit rows in a heap; sort 0 buffers everything, up
// to the buffer cap.
type sortOp struct {
	cmd      *sortCmd
	reversed bool
	env      *runEnv
	next     operator
	items    []sortItem
	arrivals int
}

func newSortOp(c *sortCmd, reversed bool, env *runEnv, next operator) *sortOp {
	return &sortOp{cmd: c, reversed: reversed, env: env, next: next}
}

func (o *sortOp) compare(a, b *sortItem) int {
	for i, k := range o.cmd.keys {
		x, y := a.keys[i], b.keys[i]
		var c int
		switch {
		case x.isNull() && y.isNull():
		case x.isNull():
			c = 1
		case y.isNull():
			c = -1
		default:
			switch k.as {
			case "str":
				xs, _ := x.str()
				ys, _ := y.str()
				c = strings.Compare(xs, ys)
			case "num":
				xf, xok := x.num()
				yf, yok := y.num()
				switch {
				case xok && yok && xf < yf:
					c = -1
				case xok && yok && xf > yf:
					c = 1
				case xok && !yok:
					c = -1
				case !xok && yok:
					c = 1
				}
			default:
				c = sortOrder(x, y)
			}
			if k.desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case a.ord < b.ord:
		return -1
	case a.ord > b.ord:
		return 1
	}
	return 0
}

func (o *sortOp) push(r *row) error {
	o.arrivals++
	it := sortItem{r: r, keys: make([]Value, len(o.cmd.keys)), ord: o.arrivals}
	if o.reversed {
		it.ord = -o.arrivals
	}
	for i, k := range o.cmd.keys {
		it.keys[i] = r.get(k.field)
	}
	if o.cmd.limit == 0 {
		r.keep()
		o.items = append(o.items, it)
		return o.env.bufferLimit("sort 0", len(o.items))
	}
	h := (*sortHeap)(o)
	if len(o.items) < o.cmd.limit {
		r.keep()
		heap.Push(h, it)
		return nil
	}
	if o.compare(&it, &o.items[0]) < 0 {
		r.keep()
		o.items[0] = it
		heap.Fix(h, 0)
	}
	return nil
}

func (o *sortOp) finish() error {
	if err := sortFunc(o.env, o.items, func(a, b sortItem) int { return o.compare(&a, &b) }); err != nil {
		return err
	}
	rows := make([]*row, len(o.items))
	for i := range o.items {
		rows[i] = o.items[i].r
	}
	o.items = nil
	return emitAll(o.env, rows, o.next)
}

// sortHeap is a max-heap of the kept items: the worst is on top, ready to
// be replaced by a better one.
type sortHeap sortOp

func (h *sortHeap) Len() int { return len(h.items) }
func (h *sortHeap) Less(i, j int) bool {
	return (*sortOp)(h).compare(&h.items[i], &h.items[j]) > 0
}
func (h *sortHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *sortHeap) Push(x any)    { h.items = append(h.items, x.(sortItem)) }
func (h *sortHeap) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return it
}
