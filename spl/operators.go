package spl

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// errDone is returned by push when an operator wants no more rows (head has
// its count, the result is full). The caller stops feeding it but must
// still call finish.
var errDone = errors.New("spl: enough rows")

// operator is one stage of the pipeline. Rows are pushed one at a time;
// finish flushes what the stage holds and finishes the next stage.
type operator interface {
	push(r *row) error
	finish() error
}

// runEnv is what operators share during one run.
type runEnv struct {
	ctx         context.Context
	now         time.Time
	maxBuffered int
	// earliest and latest bound the search, zero when open; timechart
	// fills its buckets over them.
	earliest, latest time.Time
	// schema is the column order of the result, set by the last command
	// that defines one (table, stats, timechart, top…).
	schema []string
}

func (env *runEnv) newEval(r *row) *evalCtx { return &evalCtx{row: r, now: env.now} }

// bufferLimit fails a blocking command whose input exceeds the buffer cap.
func (env *runEnv) bufferLimit(cmd string, n int) error {
	if n > env.maxBuffered {
		return agentscope.Errorf(agentscope.ETOOLARGE, "%s buffers its input and it exceeded %d rows; narrow the search (time range, filters) or aggregate first", cmd, env.maxBuffered)
	}
	return nil
}

// checkCtx reports cancellation every 4096 iterations of a long loop.
func (env *runEnv) checkCtx(i int) error {
	if i&4095 == 0 {
		return env.ctx.Err()
	}
	return nil
}

// sortStopped carries a cancellation out of a sort's comparison function.
type sortStopped struct{ err error }

// sortFunc sorts x by cmp as slices.SortFunc does, checking for
// cancellation every 4096 comparisons: sorting as many rows as the buffer
// cap allows takes seconds, too long to go on after the caller left or the
// time limit passed. A stopped sort leaves x in some order and returns the
// context's error.
func sortFunc[T any](env *runEnv, x []T, cmp func(a, b T) int) (err error) {
	if err := env.ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			s, ok := r.(sortStopped)
			if !ok {
				panic(r)
			}
			err = s.err
		}
	}()
	n := 0
	slices.SortFunc(x, func(a, b T) int {
		if n++; n&4095 == 0 {
			if err := env.ctx.Err(); err != nil {
				// slices.SortFunc cannot be stopped otherwise; it holds
				// no state that the panic could leave inconsistent.
				panic(sortStopped{err})
			}
		}
		return cmp(a, b)
	})
	return nil
}

// emitAll pushes rows to next until it is done, then finishes it.
func emitAll(env *runEnv, rows []*row, next operator) error {
	for i, r := range rows {
		if err := env.checkCtx(i); err != nil {
			return err
		}
		if err := next.push(r); err == errDone {
			break
		} else if err != nil {
			return err
		}
	}
	return next.finish()
}

// reverseRows reverses rows in place.
func reverseRows(rows []*row) {
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
}

// ring keeps the last n rows pushed into it.
type ring struct {
	rows  []*row
	n     int
	start int
	total int
}

func newRing(n int) *ring { return &ring{n: n} }

func (g *ring) add(r *row) {
	r.keep()
	g.total++
	if g.n <= 0 {
		return
	}
	if len(g.rows) < g.n {
		g.rows = append(g.rows, r)
		return
	}
	g.rows[g.start] = r
	g.start = (g.start + 1) % g.n
}

// newestFirst returns the kept rows, last pushed first.
func (g *ring) newestFirst() []*row {
	out := make([]*row, 0, len(g.rows))
	for i := len(g.rows) - 1; i >= 0; i-- {
		out = append(out, g.rows[(g.start+i)%len(g.rows)])
	}
	return out
}

// sink collects the result rows. Fed oldest first (reversed), it keeps the
// newest limit rows, which are Splunk's first ones; fed in order, it stops
// after limit.
type sink struct {
	env       *runEnv
	limit     int
	reversed  bool
	rows      []*row
	ring      *ring
	truncated bool
}

func (s *sink) push(r *row) error {
	if s.reversed {
		s.ring.add(r)
		return nil
	}
	if len(s.rows) >= s.limit {
		s.truncated = true
		return errDone
	}
	s.rows = append(s.rows, r.keep())
	return nil
}

func (s *sink) finish() error {
	if s.reversed {
		s.rows = s.ring.newestFirst()
		s.truncated = s.ring.total > s.limit
	}
	return nil
}

// columns returns the result's fields: the schema's columns (patterns
// expanded over the fields present), then every other field present,
// alphabetically.
func (s *sink) columns() []string {
	present := map[string]bool{}
	for _, r := range s.rows {
		for _, n := range r.names() {
			present[n] = true
		}
	}
	var all []string
	for n := range present {
		all = append(all, n)
	}
	sort.Strings(all)
	var out []string
	seen := map[string]bool{}
	for _, c := range s.env.schema {
		if !strings.Contains(c, "*") {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
			continue
		}
		for _, n := range all {
			if !seen[n] && wildcardMatch(c, n) {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	for _, n := range all {
		if !seen[n] {
			out = append(out, n)
		}
	}
	return out
}

// build turns the commands into a pipeline ending in a sink. Events enter
// oldest first; each stage knows whether its input is still in that
// reversed order, and order-sensitive stages (head, tail, dedup, sort,
// first/last/list) compensate, then emit in Splunk's order. filter is the
// part of the initial search the store's filters leave to check on each
// event.
func build(q *query, filter searchNode, env *runEnv, limit int) (operator, *sink, error) {
	reversed := make([]bool, len(q.commands))
	rev := true
	for i, c := range q.commands {
		reversed[i] = rev
		rev = rev && streaming(c)
	}
	s := &sink{env: env, limit: limit, reversed: rev}
	if rev {
		s.ring = newRing(limit)
	}
	var next operator = s
	for i := len(q.commands) - 1; i >= 0; i-- {
		op, err := newOperator(q.commands[i], reversed[i], env, next)
		if err != nil {
			return nil, nil, err
		}
		next = op
	}
	if filter != nil {
		if _, all := filter.(matchAll); !all {
			next = &filterOp{node: filter, next: next}
		}
	}
	return next, s, nil
}

// streaming reports whether a command passes rows through one at a time,
// keeping their order.
func streaming(c command) bool {
	switch x := c.(type) {
	case *searchCmd, *whereCmd, *evalCmd, *tableCmd, *fieldsCmd, *renameCmd, *rexCmd, *spathCmd, *binCmd:
		return true
	case *fillnullCmd:
		return len(x.fields) > 0
	}
	return false
}

// orderFree reports whether a query's answer does not depend on the order
// its events arrive in, so the store may read them in whatever order is
// fastest: the first command that is not streaming is stats, and each of
// its functions gives the same answer in any order. Sums are exact (see
// exactSum), so sum, avg, stdev and var qualify; first, last, list, mode
// and earliest/latest, which break ties by arrival, do not.
func orderFree(q *query) bool {
	for _, c := range q.commands {
		if streaming(c) {
			continue
		}
		st, ok := c.(*statsCmd)
		if !ok || st.event {
			return false
		}
		for _, a := range st.aggs {
			switch a.fn {
			case aggCount, aggDC, aggSum, aggAvg, aggMin, aggMax, aggRange, aggPerc,
				aggStdev, aggStdevp, aggVar, aggVarp, aggValues:
			default:
				return false
			}
		}
		return true
	}
	return false
}

func newOperator(c command, reversed bool, env *runEnv, next operator) (operator, error) {
	switch x := c.(type) {
	case *searchCmd:
		return &filterOp{node: x.expr, next: next}, nil
	case *whereCmd:
		return &whereOp{cond: x.cond, env: env, next: next}, nil
	case *evalCmd:
		return &evalOp{cmd: x, env: env, next: next}, nil
	case *tableCmd:
		return &tableOp{fields: x.fields, env: env, next: next}, nil
	case *fieldsCmd:
		return &fieldsOp{cmd: x, env: env, next: next}, nil
	case *renameCmd:
		return &renameOp{pairs: x.pairs, env: env, next: next}, nil
	case *rexCmd:
		return &rexOp{cmd: x, next: next}, nil
	case *spathCmd:
		return &spathOp{cmd: x, next: next}, nil
	case *binCmd:
		return &binOp{cmd: x, next: next}, nil
	case *fillnullCmd:
		return &fillnullOp{cmd: x, reversed: reversed, env: env, next: next}, nil
	case *headCmd:
		return newHeadOp(x.n, reversed, env, next), nil
	case *tailCmd:
		return newTailOp(x.n, reversed, env, next), nil
	case *dedupCmd:
		return &dedupOp{cmd: x, reversed: reversed, env: env, next: next, seen: map[string]int{}}, nil
	case *sortCmd:
		return newSortOp(x, reversed, env, next), nil
	case *statsCmd:
		if x.event {
			return &eventstatsOp{cmd: x, reversed: reversed, env: env, next: next}, nil
		}
		return newStatsOp(x, reversed, env, next), nil
	case *timechartCmd:
		return newTimechartOp(x, reversed, env, next)
	case *topCmd:
		return &topOp{cmd: x, env: env, next: next, groups: map[string]*topGroup{}}, nil
	}
	return nil, agentscope.Errorf(agentscope.EINTERNAL, "spl: no operator for %s", c.name())
}
