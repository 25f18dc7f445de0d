package web

import (
	"context"
	"fmt"
	"sync"

	"github.com/agentscope/agentscope"
)

// dashQuery is one of the searches behind the scorecards, and how its rows
// fold into the stats.
type dashQuery struct {
	name     string
	pipeline string
	fold     func(d *dashStats, row map[string]any, r dashRange)
}

// dashQueries compute the scorecards with the same searches as
// service.Insights, split by agent.
func dashQueries(r dashRange) []dashQuery {
	return []dashQuery{
		{"runs", `type="SessionCompleted" | stats count AS runs by agent status`, func(d *dashStats, row map[string]any, _ dashRange) {
			a := d.agent(str(row["agent"]))
			n, _ := number(row["runs"])
			a.runs += int64(n)
			switch str(row["status"]) {
			case string(agentscope.StatusCompleted):
				a.completed += int64(n)
			case string(agentscope.StatusFailed):
				a.failed += int64(n)
			}
		}},
		{"latency", `type="ModelCompleted" | stats count AS calls perc50(duration_ms) AS p50_ms perc95(duration_ms) AS p95_ms by agent`, func(d *dashStats, row map[string]any, _ dashRange) {
			a := d.agent(str(row["agent"]))
			calls, _ := number(row["calls"])
			a.modelCalls = int64(calls)
			a.p50, _ = number(row["p50_ms"])
			a.p95, _ = number(row["p95_ms"])
		}},
		{"tools", `type="ToolReturned" | eval is_error=if(status="error", 1, 0) | stats count AS calls sum(is_error) AS errors by agent`, func(d *dashStats, row map[string]any, _ dashRange) {
			a := d.agent(str(row["agent"]))
			calls, _ := number(row["calls"])
			errs, _ := number(row["errors"])
			a.toolCalls, a.toolErrors = int64(calls), int64(errs)
		}},
		{"cost", `type="CostRecorded" | bin _time span=` + r.splBin + ` | stats sum(amount_usd) AS cost_usd by _time agent`, func(d *dashStats, row map[string]any, r dashRange) {
			t, ok := parseSearchTime(row["_time"])
			if !ok {
				return
			}
			cost, _ := number(row["cost_usd"])
			d.agent(str(row["agent"])).cost[t.UTC().Truncate(r.bucket).Unix()] += cost
		}},
	}
}

// splStats runs the dashboard's searches concurrently through the
// configured Searcher. A failed search is reported, not replaced.
func (s *Server) splStats(ctx context.Context, org string, r dashRange) *dashStats {
	d := &dashStats{fromSPL: true}
	base := `sourcetype="agentscope:events"`
	if idx := s.opts.UI.SplunkIndex; idx != "" {
		base = "index=" + splQuote(idx) + " " + base
	}
	qs := dashQueries(r)
	type answer struct {
		res *agentscope.SearchResult
		err error
	}
	answers := make([]answer, len(qs))
	var wg sync.WaitGroup
	for i, q := range qs {
		spl := base + " " + q.pipeline
		d.queries = append(d.queries, spl)
		wg.Go(func() {
			res, err := s.opts.UI.Searcher.Search(ctx, org, agentscope.SearchQuery{Query: spl, Earliest: "-" + r.key, Latest: "now", Limit: searchRowLimit})
			answers[i] = answer{res, err}
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a.err != nil {
			msg := agentscope.ErrorMessage(a.err)
			if agentscope.ErrorCode(a.err) == agentscope.EINTERNAL {
				s.log.Error("dashboard search", "query", qs[i].name, "err", a.err)
				msg = "the search backend failed; the server log has the details"
			}
			d.errors = append(d.errors, fmt.Sprintf("The %s search failed: %s", qs[i].name, msg))
			continue
		}
		if d.backend == "" {
			d.backend = a.res.Backend
		}
		for _, row := range a.res.Results {
			qs[i].fold(d, row, r)
		}
	}
	d.source = "Computed with SPL"
	if d.backend != "" {
		d.source += " by " + d.backend
	}
	d.source += " — the same searches as splunk_insights."
	if len(d.errors) == len(qs) {
		d.source = "The SPL backend answered none of the dashboard's searches."
	}
	return d
}
