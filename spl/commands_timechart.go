package spl

import (
	"sort"
	"time"

	"github.com/agentscope/agentscope"
)

// maxBuckets bounds the rows of a timechart.
const maxBuckets = 100000

// timeBucket returns the start of the span-wide bucket holding t, aligned
// in UTC: fixed spans on the epoch, days on midnight, weeks on Sunday,
// months, quarters and years on the calendar.
func timeBucket(t time.Time, s spanSpec) time.Time {
	n := int64(s.n)
	t = t.UTC()
	floorDiv := func(a, b int64) int64 {
		q := a / b
		if a%b != 0 && (a < 0) != (b < 0) {
			q--
		}
		return q
	}
	switch s.unit {
	case "s", "m", "h":
		width := n * int64(map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[s.unit]/time.Microsecond)
		return time.UnixMicro(floorDiv(t.UnixMicro(), width) * width).UTC()
	case "d":
		day := floorDiv(t.Unix(), 86400)
		return time.Unix(floorDiv(day, n)*n*86400, 0).UTC()
	case "w":
		// 1970-01-04 was a Sunday.
		week := floorDiv(t.Unix()-3*86400, 7*86400)
		return time.Unix(floorDiv(week, n)*n*7*86400+3*86400, 0).UTC()
	case "mon", "q":
		if s.unit == "q" {
			n *= 3
		}
		months := int64(t.Year()-1970)*12 + int64(t.Month()-1)
		m := floorDiv(months, n) * n
		return time.Date(1970+int(floorDiv(m, 12)), time.Month(m-floorDiv(m, 12)*12+1), 1, 0, 0, 0, 0, time.UTC)
	case "y":
		y := floorDiv(int64(t.Year()), n) * n
		return time.Date(int(y), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

// nextBucket returns the start of the bucket after the one starting at t.
func nextBucket(t time.Time, s spanSpec) time.Time { return addUnits(t, int(s.n), s.unit) }

// defaultSpan picks the span Splunk would for a time range: the smallest
// of its usual spans giving at most 100 buckets; one day when the range is
// open.
func defaultSpan(earliest, latest time.Time) spanSpec {
	if earliest.IsZero() || latest.IsZero() {
		return spanSpec{n: 1, unit: "d"}
	}
	d := latest.Sub(earliest)
	for _, s := range []struct {
		span spanSpec
		dur  time.Duration
	}{
		{spanSpec{1, "s"}, time.Second}, {spanSpec{5, "s"}, 5 * time.Second}, {spanSpec{10, "s"}, 10 * time.Second},
		{spanSpec{30, "s"}, 30 * time.Second}, {spanSpec{1, "m"}, time.Minute}, {spanSpec{5, "m"}, 5 * time.Minute},
		{spanSpec{10, "m"}, 10 * time.Minute}, {spanSpec{30, "m"}, 30 * time.Minute}, {spanSpec{1, "h"}, time.Hour},
		{spanSpec{1, "d"}, 24 * time.Hour},
	} {
		if d <= 100*s.dur {
			return s.span
		}
	}
	return spanSpec{n: 1, unit: "mon"}
}

// timechartOp aggregates rows per time bucket and split value as they
// stream; memory is one state per (bucket, series).
type timechartOp struct {
	cmd      *timechartCmd
	span     spanSpec
	reversed bool
	env      *runEnv
	next     operator
	buckets  map[int64]map[string][]*accum
	series   map[string]bool
}

const nullSeries = "NULL"

func newTimechartOp(c *timechartCmd, reversed bool, env *runEnv, next operator) (*timechartOp, error) {
	span := c.span
	if span.isZero() {
		latest := env.latest
		if latest.IsZero() && !env.earliest.IsZero() {
			latest = env.now
		}
		span = defaultSpan(env.earliest, latest)
	}
	return &timechartOp{cmd: c, span: span, reversed: reversed, env: env, next: next,
		buckets: map[int64]map[string][]*accum{}, series: map[string]bool{}}, nil
}

func (o *timechartOp) push(r *row) error {
	f, ok := r.get("_time").num()
	if !ok {
		return nil
	}
	t, ok := epochToTime(f)
	if !ok {
		return nil
	}
	b := timeBucket(t, o.span).UnixMicro()
	cells := o.buckets[b]
	if cells == nil {
		cells = map[string][]*accum{}
		o.buckets[b] = cells
		if len(o.buckets) > maxBuckets {
			return agentscope.Errorf(agentscope.ETOOLARGE, "timechart would have more than %d buckets; use a wider span=", maxBuckets)
		}
	}
	var names []string
	if o.cmd.by == "" {
		names = []string{""}
	} else {
		v := r.get(o.cmd.by)
		if v.isNull() {
			if !o.cmd.useNull {
				return nil
			}
			v = strVal(nullSeries)
		}
		names = v.values()
	}
	for _, s := range names {
		accs := cells[s]
		if accs == nil {
			accs = make([]*accum, len(o.cmd.aggs))
			for i := range o.cmd.aggs {
				accs[i] = newAccum(&o.cmd.aggs[i], o.reversed)
			}
			cells[s] = accs
			o.series[s] = true
			if err := o.env.bufferLimit("timechart cells", len(o.series)*len(o.buckets)); err != nil {
				return err
			}
		}
		for _, a := range accs {
			a.add(r)
		}
	}
	return nil
}

// keptSeries ranks the series by the sum of their first aggregate and
// keeps the top limit; the others fold into OTHER.
func (o *timechartOp) keptSeries() (kept []string, other bool) {
	type ranked struct {
		name  string
		total float64
	}
	var rs []ranked
	for s := range o.series {
		var total float64
		for _, cells := range o.buckets {
			if accs := cells[s]; accs != nil {
				if f, ok := accs[0].result().num(); ok {
					total += f
				}
			}
		}
		rs = append(rs, ranked{s, total})
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].total != rs[j].total {
			return rs[i].total > rs[j].total
		}
		return rs[i].name < rs[j].name
	})
	if o.cmd.by != "" && o.cmd.limit > 0 && len(rs) > o.cmd.limit {
		other = o.cmd.useOther
		rs = rs[:o.cmd.limit]
	}
	for _, r := range rs {
		kept = append(kept, r.name)
	}
	sort.Slice(kept, func(i, j int) bool {
		// NULL comes after the values, as in Splunk's columns.
		if (kept[i] == nullSeries) != (kept[j] == nullSeries) {
			return kept[j] == nullSeries
		}
		return kept[i] < kept[j]
	})
	return kept, other
}

func (o *timechartOp) finish() error {
	kept, other := o.keptSeries()
	keptSet := map[string]bool{}
	for _, s := range kept {
		keptSet[s] = true
	}
	if other {
		kept = append(kept, "OTHER")
	}
	if o.cmd.by == "" {
		kept = []string{""}
	}
	column := func(series string, agg int) string {
		switch {
		case o.cmd.by == "":
			return o.cmd.aggs[agg].as
		case len(o.cmd.aggs) == 1:
			return series
		}
		return o.cmd.aggs[agg].as + ": " + series
	}
	schema := []string{"_time"}
	for i := range o.cmd.aggs {
		for _, s := range kept {
			schema = append(schema, column(s, i))
		}
	}
	if o.cmd.by != "" && len(o.cmd.aggs) > 1 {
		// Splunk groups the columns by series, then aggregation.
		schema = schema[:1]
		for _, s := range kept {
			for i := range o.cmd.aggs {
				schema = append(schema, column(s, i))
			}
		}
	}
	o.env.schema = schema

	start, end, ok := o.bucketRange()
	var rows []*row
	for t, n := start, 0; ok && t.Before(end); t, n = nextBucket(t, o.span), n+1 {
		if n >= maxBuckets {
			return agentscope.Errorf(agentscope.ETOOLARGE, "timechart would have more than %d buckets; use a wider span=", maxBuckets)
		}
		if err := o.env.checkCtx(n); err != nil {
			return err
		}
		cells := o.buckets[t.UnixMicro()]
		r := newRow()
		r.set("_time", numVal(timeToEpoch(t)))
		for i, call := range o.cmd.aggs {
			var otherAcc *accum
			for s, accs := range cells {
				if !keptSet[s] && o.cmd.by != "" {
					if otherAcc == nil {
						otherAcc = newAccum(&o.cmd.aggs[i], o.reversed)
					}
					otherAcc.merge(accs[i])
				}
			}
			for _, s := range kept {
				var acc *accum
				if s == "OTHER" && other {
					acc = otherAcc
				} else if accs := cells[s]; accs != nil {
					acc = accs[i]
				}
				v := null
				if acc != nil {
					v = acc.result()
				}
				if v.isNull() && (call.fn == aggCount || call.fn == aggDC) {
					v = numVal(0)
				}
				r.set(column(s, i), v)
			}
		}
		rows = append(rows, r)
	}
	o.buckets = nil
	return emitAll(o.env, rows, o.next)
}

// bucketRange is the buckets to show: the search's time range when it is
// bounded (latest defaults to now once earliest is set), else the buckets
// that hold data.
func (o *timechartOp) bucketRange() (start, end time.Time, ok bool) {
	var lo, hi int64
	first := true
	for b := range o.buckets {
		if first || b < lo {
			lo = b
		}
		if first || b > hi {
			hi = b
		}
		first = false
	}
	if !o.env.earliest.IsZero() {
		start = timeBucket(o.env.earliest, o.span)
	} else if !first {
		start = time.UnixMicro(lo).UTC()
	} else {
		return start, end, false
	}
	switch {
	case !o.env.latest.IsZero():
		end = o.env.latest
	case !o.env.earliest.IsZero():
		end = o.env.now
	case !first:
		end = nextBucket(time.UnixMicro(hi).UTC(), o.span)
	}
	if !first && !end.After(time.UnixMicro(hi)) {
		end = nextBucket(time.UnixMicro(hi).UTC(), o.span)
	}
	return start, end, true
}
