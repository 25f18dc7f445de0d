package web

import (
	"time"
)

// dashTimeout bounds the dashboard's searches and reads.
const dashTimeout = 30 * time.Second

// dashRange is one of the dashboard's time ranges.
type dashRange struct {
	key, label string
	span       time.Duration
	// bucket is the width of the cost chart's bars and the sparklines'
	// points; splBin is the same as an SPL span.
	bucket time.Duration
	splBin string
}

var dashRanges = []dashRange{
	{"24h", "Last 24 hours", 24 * time.Hour, time.Hour, "1h"},
	{"7d", "Last 7 days", 7 * 24 * time.Hour, 24 * time.Hour, "1d"},
	{"30d", "Last 30 days", 30 * 24 * time.Hour, 24 * time.Hour, "1d"},
}

func lookupDashRange(key string) dashRange {
	for _, r := range dashRanges {
		if r.key == key {
			return r
		}
	}
	return dashRanges[1]
}

// buckets are the starts of the range's buckets, oldest first.
func (r dashRange) buckets(now time.Time) []time.Time {
	var out []time.Time
	for t := now.Add(-r.span).UTC().Truncate(r.bucket); !t.After(now); t = t.Add(r.bucket) {
		out = append(out, t)
	}
	return out
}

// agentStats are one agent's numbers over the range.
type agentStats struct {
	runs, completed, failed int64
	modelCalls              int64
	p50, p95                float64
	toolCalls, toolErrors   int64
	// cost maps a bucket's start (Unix seconds) to the cost in it.
	cost map[int64]float64
}

// dashStats are the scorecards' numbers, from SPL or from the store.
type dashStats struct {
	agents map[string]*agentStats
	// source labels where the numbers come from.
	source  string
	fromSPL bool
	backend string
	// errors are searches that failed, shown as notices.
	errors  []string
	queries []string
}

func (d *dashStats) agent(name string) *agentStats {
	if d.agents == nil {
		d.agents = map[string]*agentStats{}
	}
	a := d.agents[name]
	if a == nil {
		a = &agentStats{cost: map[int64]float64{}}
		d.agents[name] = a
	}
	return a
}
