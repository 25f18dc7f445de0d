package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web/ui"
)

const (
	// searchRowLimit bounds the rows a search page asks for.
	searchRowLimit = 10_000
	// searchTimeout bounds one search from the page.
	searchTimeout = 2 * time.Minute
)

// searchRanges are the search page's time ranges (Splunk earliest times).
var searchRanges = []ui.Option{
	{Value: "-15m", Label: "Last 15 minutes"},
	{Value: "-1h", Label: "Last hour"},
	{Value: "-24h", Label: "Last 24 hours"},
	{Value: "-7d", Label: "Last 7 days"},
	{Value: "-30d", Label: "Last 30 days"},
	{Value: "", Label: "All time"},
}

// defaultSearchExamples match service.Insights over the default
// indexes, plus a timechart.
var defaultSearchExamples = []SearchExample{
	{"cost_by_agent", "Total recorded cost in USD per agent, most expensive first.", `sourcetype="agentscope:events" type="CostRecorded" | stats sum(amount_usd) AS cost_usd count AS cost_records by agent | sort - cost_usd`},
	{"model_latency", "Median and 95th-percentile model latency per provider and model.", `sourcetype="agentscope:events" type="ModelCompleted" | stats count AS calls perc50(duration_ms) AS p50_ms perc95(duration_ms) AS p95_ms by provider model | sort - p95_ms`},
	{"tool_reliability", "Calls, errors and error rate per tool, least reliable first.", `sourcetype="agentscope:events" type="ToolReturned" | eval is_error=if(status="error", 1, 0) | stats count AS calls sum(is_error) AS errors perc95(duration_ms) AS p95_ms by tool | eval error_rate=round(errors / calls, 4) | sort - error_rate`},
	{"runs_by_status", "Finished runs per final status.", `sourcetype="agentscope:events" type="SessionCompleted" | stats count AS runs by status | sort - runs`},
	{"cost_over_time", "Cost per hour by agent, as a chart.", `sourcetype="agentscope:events" type="CostRecorded" | timechart span=1h sum(amount_usd) AS cost_usd by agent`},
}

// handleSearchPage runs ?q= over ?earliest= (default the last 24 hours)
// and ?latest=, and shows the table, a chart for timechart, the backend
// that answered, or the error with a caret under its position.
func (s *Server) handleSearchPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	p := s.page(r, "Search", "search")
	v := ui.Search{Configured: s.svc.Searching(), Query: strings.TrimSpace(q.Get("q")), Earliest: "-24h", Latest: q.Get("latest"), ErrorPos: -1}
	if _, set := q["earliest"]; set {
		v.Earliest = q.Get("earliest")
	}
	v.Ranges = rangeOptions(v.Earliest)
	for _, ex := range s.searchExamples() {
		v.Examples = append(v.Examples, ui.Example{Name: ex.Name, Description: ex.Description, SPL: ex.SPL})
	}
	status := http.StatusOK
	if v.Configured && v.Query != "" {
		status = s.runSearch(ctx, &v)
	}
	s.render(w, r, status, ui.SearchPage(p, v))
}

func (s *Server) searchExamples() []SearchExample {
	if len(s.opts.UI.SearchExamples) > 0 {
		return s.opts.UI.SearchExamples
	}
	return defaultSearchExamples
}

func rangeOptions(earliest string) []ui.Option {
	opts := make([]ui.Option, 0, len(searchRanges)+1)
	found := false
	for _, o := range searchRanges {
		o.Selected = o.Value == earliest
		found = found || o.Selected
		opts = append(opts, o)
	}
	if !found { // a custom earliest from a link keeps its value
		opts = append(opts, ui.Option{Value: earliest, Label: earliest, Selected: true})
	}
	return opts
}

// runSearch fills v with the search's result or error and returns the
// page's status.
func (s *Server) runSearch(ctx context.Context, v *ui.Search) int {
	ctx, cancel := context.WithTimeout(ctx, searchTimeout)
	defer cancel()
	start := time.Now()
	// Through the service, as run_spl and POST /api/v1/spl: the caller
	// must be allowed to search (a viewer is not), and the query runs on
	// the default backend.
	res, err := s.svc.RunSPL(ctx, service.RunSPLInput{Query: v.Query, EarliestTime: v.Earliest, LatestTime: v.Latest, RowLimit: searchRowLimit})
	took := float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		code := agentscope.ErrorCode(err)
		pos, hasPos := errorPosition(err)
		switch {
		case code != agentscope.EINTERNAL:
			v.Error = agentscope.ErrorMessage(err)
		case hasPos: // an error about a place in the query is the query's fault
			v.Error, code = err.Error(), agentscope.EINVALID
		default:
			s.log.Error("search", "err", err)
			v.Error = "The search backend failed; the server log has the details."
		}
		if hasPos {
			v.ErrorPos = pos
			v.ErrorLineNo, v.ErrorLine, v.Caret = caretAt(v.Query, pos)
		}
		return codeStatus[code]
	}
	v.Result = searchTable(res, took)
	v.Chart = chartOf(v.Query, res)
	return http.StatusOK
}
