package web

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/agentscope/agentscope"
)

// storeStats computes the scorecards from the event store, for a server
// with no SPL backend: the same numbers the searches give, with exact
// (nearest-rank) percentiles.
func (s *Server) storeStats(ctx context.Context, r dashRange, now time.Time) (*dashStats, error) {
	d := &dashStats{source: "Computed from the event store: no SPL backend is configured."}
	latencies := map[string][]float64{}
	q := agentscope.EventQuery{
		Types:    []agentscope.EventType{agentscope.SessionCompleted, agentscope.ModelCompleted, agentscope.ToolReturned, agentscope.CostRecorded},
		Earliest: now.Add(-r.span),
	}
	err := s.svc.ScanEvents(ctx, q, func(evs []agentscope.Event) (bool, error) {
		for i := range evs {
			ev := &evs[i]
			a := d.agent(ev.Agent)
			switch ev.Type {
			case agentscope.SessionCompleted:
				a.runs++
				switch agentscope.RunStatus(ev.Status) {
				case agentscope.StatusCompleted:
					a.completed++
				case agentscope.StatusFailed:
					a.failed++
				}
			case agentscope.ModelCompleted:
				a.modelCalls++
				if ev.DurationMS != nil {
					latencies[ev.Agent] = append(latencies[ev.Agent], *ev.DurationMS)
				}
			case agentscope.ToolReturned:
				a.toolCalls++
				if ev.Status == "error" {
					a.toolErrors++
				}
			case agentscope.CostRecorded:
				if ev.AmountUSD != nil {
					a.cost[ev.TS.UTC().Truncate(r.bucket).Unix()] += ev.AmountUSD.Float()
				}
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for agent, ls := range latencies {
		slices.Sort(ls)
		a := d.agent(agent)
		a.p50, a.p95 = nearestRank(ls, 50), nearestRank(ls, 95)
	}
	return d, nil
}

// nearestRank is the p-th percentile of sorted values.
func nearestRank(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
