package spl

import (
	"math"
	"sort"
)

// aggFunc is a statistical function of stats, eventstats and timechart.
type aggFunc uint8

const (
	aggCount aggFunc = iota
	aggDC
	aggSum
	aggAvg
	aggMin
	aggMax
	aggRange
	aggPerc
	aggMode
	aggStdev
	aggStdevp
	aggVar
	aggVarp
	aggValues
	aggList
	aggEarliest
	aggLatest
	aggEarliestTime
	aggLatestTime
	aggFirst
	aggLast
)

// maxListValues is how many values list() keeps, as Splunk's list_maxsize.
const maxListValues = 100

// accum is the running state of one aggregation for one group. It holds
// only what its function needs; percentiles, dc and values keep their
// values (exact, so memory grows with the distinct or total values of the
// group).
type accum struct {
	call *aggCall
	// reversed: rows arrive oldest first while Splunk's order is newest
	// first, which decides first, last and list.
	reversed bool

	n        int64
	sum      exactSum
	sumSq    exactSum
	min, max Value
	nums     []float64
	set      map[string]struct{}
	counts   map[string]int64
	list     []string
	best     Value
	bestTime float64
	hasBest  bool
}

func newAccum(call *aggCall, reversed bool) *accum {
	return &accum{call: call, reversed: reversed}
}

// add feeds one row.
func (a *accum) add(r *row) {
	if a.call.field == "" {
		a.n++
		return
	}
	v := r.get(a.call.field)
	if v.isNull() {
		return
	}
	switch a.call.fn {
	case aggEarliest, aggLatest, aggEarliestTime, aggLatestTime:
		t, ok := r.get("_time").num()
		if !ok {
			return
		}
		early := a.call.fn == aggEarliest || a.call.fn == aggEarliestTime
		if !a.hasBest || (early && t < a.bestTime) || (!early && t >= a.bestTime) {
			a.best, a.bestTime, a.hasBest = v, t, true
		}
		return
	case aggFirst, aggLast:
		// first is the first row in Splunk's newest-first order.
		keepNew := (a.call.fn == aggFirst) == a.reversed
		if !a.hasBest || keepNew {
			a.best, a.hasBest = v, true
		}
		return
	}
	v.each(func(x Value) bool {
		a.addValue(x)
		return true
	})
}

func (a *accum) addValue(x Value) {
	switch a.call.fn {
	case aggCount:
		a.n++
	case aggDC, aggValues:
		if a.set == nil {
			a.set = map[string]struct{}{}
		}
		s, _ := x.str()
		a.set[s] = struct{}{}
	case aggMode:
		if a.counts == nil {
			a.counts = map[string]int64{}
		}
		s, _ := x.str()
		a.counts[s]++
	case aggList:
		s, _ := x.str()
		a.list = append(a.list, s)
		if !a.reversed && len(a.list) > maxListValues {
			a.list = a.list[:maxListValues]
		} else if a.reversed && len(a.list) > 2*maxListValues {
			a.list = append(a.list[:0], a.list[len(a.list)-maxListValues:]...)
		}
	case aggMin, aggMax, aggRange:
		if a.min.isNull() || minMaxLess(x, a.min) {
			a.min = x
		}
		if a.max.isNull() || minMaxLess(a.max, x) {
			a.max = x
		}
	default:
		f, ok := x.num()
		if !ok {
			return
		}
		a.n++
		switch a.call.fn {
		case aggSum, aggAvg:
			a.sum.add(f)
		case aggStdev, aggStdevp, aggVar, aggVarp:
			a.sum.add(f)
			a.sumSq.add(f * f)
		case aggPerc:
			a.nums = append(a.nums, f)
		}
	}
}

// minMaxLess orders values for min and max: numbers numerically and below
// strings, strings lexicographically, as Splunk's min/max do.
func minMaxLess(a, b Value) bool { return sortOrder(a, b) < 0 }

// merge folds o, a state of the same aggregation, into a.
func (a *accum) merge(o *accum) {
	a.n += o.n
	a.sum.merge(&o.sum)
	a.sumSq.merge(&o.sumSq)
	for _, x := range []Value{o.min, o.max} {
		if x.isNull() {
			continue
		}
		if a.min.isNull() || minMaxLess(x, a.min) {
			a.min = x
		}
		if a.max.isNull() || minMaxLess(a.max, x) {
			a.max = x
		}
	}
	a.nums = append(a.nums, o.nums...)
	for k := range o.set {
		if a.set == nil {
			a.set = map[string]struct{}{}
		}
		a.set[k] = struct{}{}
	}
	for k, n := range o.counts {
		if a.counts == nil {
			a.counts = map[string]int64{}
		}
		a.counts[k] += n
	}
	a.list = append(a.list, o.list...)
	if o.hasBest {
		early := a.call.fn == aggEarliest || a.call.fn == aggEarliestTime
		if !a.hasBest || (early && o.bestTime < a.bestTime) || (!early && o.bestTime > a.bestTime) {
			a.best, a.bestTime, a.hasBest = o.best, o.bestTime, true
		}
	}
}

// result returns the aggregate.
func (a *accum) result() Value {
	switch a.call.fn {
	case aggCount:
		return numVal(float64(a.n))
	case aggDC:
		return numVal(float64(len(a.set)))
	case aggValues:
		vs := make([]string, 0, len(a.set))
		for k := range a.set {
			vs = append(vs, k)
		}
		sort.Strings(vs)
		return mvVal(vs)
	case aggList:
		l := a.list
		if a.reversed {
			if len(l) > maxListValues {
				l = l[len(l)-maxListValues:]
			}
			out := make([]string, len(l))
			for i, s := range l {
				out[len(l)-1-i] = s
			}
			return mvVal(out)
		}
		return mvVal(l)
	case aggMode:
		best, bestN := "", int64(-1)
		for k, n := range a.counts {
			if n > bestN || (n == bestN && k < best) {
				best, bestN = k, n
			}
		}
		if bestN < 0 {
			return null
		}
		return literal(best)
	case aggMin:
		return a.min
	case aggMax:
		return a.max
	case aggRange:
		x, ok1 := a.max.num()
		y, ok2 := a.min.num()
		if !ok1 || !ok2 {
			return null
		}
		return numVal(x - y)
	case aggEarliest, aggLatest, aggFirst, aggLast:
		if !a.hasBest {
			return null
		}
		return a.best
	case aggEarliestTime, aggLatestTime:
		if !a.hasBest {
			return null
		}
		return numVal(a.bestTime)
	}
	if a.n == 0 {
		return null
	}
	n, sum, sumSq := float64(a.n), a.sum.value(), a.sumSq.value()
	switch a.call.fn {
	case aggSum:
		return numVal(sum)
	case aggAvg:
		return numVal(sum / n)
	case aggPerc:
		return numVal(percentile(a.nums, a.call.pct))
	case aggVar, aggStdev:
		if a.n < 2 {
			return null
		}
		v := math.Max(0, (sumSq-sum*sum/n)/(n-1))
		if a.call.fn == aggStdev {
			return numVal(math.Sqrt(v))
		}
		return numVal(v)
	case aggVarp, aggStdevp:
		v := math.Max(0, (sumSq-sum*sum/n)/n)
		if a.call.fn == aggStdevp {
			return numVal(math.Sqrt(v))
		}
		return numVal(v)
	}
	return null
}

// percentile is Splunk's nearest-rank percentile (limits.conf
// perc_method = nearest-rank, the default): the value of 0-based rank
// floor(pct/100 × count) among the sorted values.
func percentile(vals []float64, pct float64) float64 {
	sort.Float64s(vals)
	i := int(math.Floor(pct / 100 * float64(len(vals))))
	if i >= len(vals) {
		i = len(vals) - 1
	}
	return vals[i]
}
