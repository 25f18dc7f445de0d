package detect

import (
	"fmt"
	"slices"
	"time"

	"github.com/agentscope/agentscope"
)

// latencyDetector raises one finding when the nearest-rank p95 of the
// session's ModelCompleted duration_ms so far goes above LatencyP95, once
// there are LatencyMinCalls calls; the evidence is the calls slower than
// the SLO. With n calls and rank r = floor(0.95 n), p95 > SLO exactly
// when at least n - r calls are slower than the SLO, and the p95 is then
// the (n - r)-th slowest of them: so only the slow calls are kept, and a
// call costs O(1).
type latencyDetector struct {
	calls    int
	slowMS   []float64
	slowRefs evidenceList
	reported bool
}

func (d *latencyDetector) observe(s *session, ev *agentscope.Event) {
	if ev.DurationMS == nil || d.reported {
		return
	}
	ms := *ev.DurationMS
	sloMS := float64(s.cfg.LatencyP95) / float64(time.Millisecond)
	d.calls++
	if ms > sloMS {
		d.slowMS = append(d.slowMS, ms)
		d.slowRefs.add(ev)
	}
	n := d.calls
	tail := n - int(0.95*float64(n)) // the calls at or above the p95's rank
	if n < s.cfg.LatencyMinCalls || len(d.slowMS) < tail {
		return
	}
	d.reported = true
	slices.Sort(d.slowMS)
	p95 := d.slowMS[len(d.slowMS)-tail]
	sev := SeverityMedium
	if p95 >= 2*sloMS {
		sev = SeverityHigh
	}
	s.emit(newFinding(KindLatencySLO, sev, "Model latency p95 over the SLO",
		fmt.Sprintf("The p95 of model call latency was %s over the session's first %d calls (at seq %d), above the %s SLO; %d of them took longer.",
			formatDuration(msDuration(p95)), n, ev.Seq, formatDuration(s.cfg.LatencyP95), len(d.slowMS)),
		s.splSlowCalls(sloMS), d.slowRefs.last()...))
	d.slowMS = nil
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
