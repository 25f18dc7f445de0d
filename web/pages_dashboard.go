package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web/ui"
)

// dashProblems is how many failed or over-budget runs the dashboard lists.
const dashProblems = 10

// handleDashboardPage renders the overview for ?range= (24h, 7d or 30d).
func (s *Server) handleDashboardPage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), dashTimeout)
	defer cancel()
	org, _ := agentscope.OrgFrom(ctx)
	p := s.page(r, "Dashboard", "dashboard")
	rng := lookupDashRange(r.URL.Query().Get("range"))
	now := time.Now()
	var stats *dashStats
	if s.opts.UI.Searcher != nil {
		stats = s.splStats(ctx, org, rng)
	} else {
		var err error
		if stats, err = s.storeStats(ctx, rng, now); err != nil {
			s.pageError(w, r, p, err)
			return
		}
	}
	agents, err := s.svc.ListAgents(ctx)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	budgets, budgetsKnown, berr := s.budgetsByAgent(ctx, org)
	problems, err := s.problemRuns(ctx, rng, now)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	d := ui.Dashboard{Range: rng.key, Source: stats.source, FromSPL: stats.fromSPL, Queries: stats.queries, Problems: problems}
	for _, dr := range dashRanges {
		d.Ranges = append(d.Ranges, ui.Option{Value: dr.key, Label: dr.label, Selected: dr.key == rng.key})
	}
	for _, e := range stats.errors {
		d.Notices = append(d.Notices, ui.Notice{Kind: "error", Text: e})
	}
	if berr != nil {
		d.Notices = append(d.Notices, ui.Notice{Kind: "error", Text: "Budgets could not be read: " + agentscope.ErrorMessage(berr)})
	}
	d.Cards, d.Cost = scorecards(stats, agents, budgets, budgetsKnown, rng, now)
	if !stats.fromSPL {
		d.CostNote = "Cost is the sum of CostRecorded events per " + bucketName(rng) + ", in UTC."
	}
	d.Health = s.healthView(ctx, stats)
	s.render(w, r, http.StatusOK, ui.DashboardPage(p, d))
}

func bucketName(r dashRange) string {
	if r.bucket == time.Hour {
		return "hour"
	}
	return "day"
}

// scorecards builds a card per agent — registered or active in the range —
// most expensive first, and the cost chart in the same colours.
func scorecards(stats *dashStats, agents []agentscope.Agent, budgets map[string][]ui.BudgetView, budgetsKnown bool, r dashRange, now time.Time) ([]ui.AgentCard, ui.BarChart) {
	kinds := map[string]agentscope.AgentKind{}
	for _, a := range agents {
		kinds[a.Name] = a.Kind
		stats.agent(a.Name)
	}
	buckets := r.buckets(now)
	today := now.UTC().Truncate(24 * time.Hour).Unix()
	var cards []ui.AgentCard
	for name, a := range stats.agents {
		if name == "" {
			continue
		}
		c := ui.AgentCard{
			Agent: name, Kind: kinds[name], Runs: a.runs, Completed: a.completed, Failed: a.failed,
			ModelCalls: a.modelCalls, P50: a.p50, P95: a.p95, ToolCalls: a.toolCalls, ToolErrors: a.toolErrors,
			Budgets: budgets[name], BudgetsKnown: budgetsKnown,
		}
		for at, v := range a.cost {
			c.CostRange += v
			if at >= today {
				c.CostToday += v
			}
		}
		cards = append(cards, c)
	}
	slices.SortFunc(cards, func(x, y ui.AgentCard) int {
		return cmp.Or(cmp.Compare(y.CostRange, x.CostRange), cmp.Compare(y.Runs, x.Runs), cmp.Compare(x.Agent, y.Agent))
	})
	var series []ui.Series
	for i := range cards {
		c := &cards[i]
		values := make([]float64, len(buckets))
		for j, b := range buckets {
			values[j] = stats.agents[c.Agent].cost[b.Unix()]
		}
		c.Color = ui.SeriesClass(i)
		c.Spark = ui.NewSparkline(values, c.Agent+": cost per "+bucketName(r))
		c.Spark.Class = c.Color
		series = append(series, ui.Series{Name: c.Agent, Values: values})
	}
	label := func(t time.Time) string { return timeLabel(t, r.span) }
	return cards, ui.NewStackedBars(buckets, series, label, true)
}

// problemRuns are the range's latest failed runs and runs that hit a hard
// budget, newest first.
func (s *Server) problemRuns(ctx context.Context, r dashRange, now time.Time) ([]ui.ProblemRun, error) {
	since := now.Add(-r.span)
	page, err := s.svc.Runs(ctx, agentscope.RunFilter{Status: agentscope.StatusFailed, Since: since, Limit: dashProblems})
	if err != nil {
		return nil, err
	}
	byID := map[string]ui.ProblemRun{}
	for _, run := range page.Runs {
		at := run.CreatedAt
		if run.EndedAt != nil {
			at = *run.EndedAt
		}
		byID[run.SessionID] = ui.ProblemRun{Run: run, Reason: cmp.Or(run.Error, "failed"), At: at}
	}
	var over []agentscope.Event
	err = s.svc.ScanEvents(ctx, agentscope.EventQuery{Types: []agentscope.EventType{agentscope.BudgetExceeded}, Earliest: since}, func(evs []agentscope.Event) (bool, error) {
		over = append(over, evs...)
		if len(over) > dashProblems {
			over = over[len(over)-dashProblems:]
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for _, ev := range over {
		run, err := s.svc.GetRun(ctx, ev.SessionID)
		if err != nil {
			return nil, err
		}
		byID[ev.SessionID] = ui.ProblemRun{Run: run, Reason: "over budget: " + ev.Error, At: ev.TS}
	}
	out := make([]ui.ProblemRun, 0, len(byID))
	for _, p := range byID {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b ui.ProblemRun) int { return b.At.Compare(a.At) })
	return out[:min(len(out), dashProblems)], nil
}

// healthView reads the Splunk forwarder's health, if a source is set.
func (s *Server) healthView(ctx context.Context, stats *dashStats) ui.HealthPanel {
	h := ui.HealthPanel{Configured: s.opts.UI.SplunkHealth != nil}
	if h.Configured {
		report, err := s.opts.UI.SplunkHealth.SplunkHealth(ctx)
		if err != nil {
			s.log.Error("read Splunk health", "err", err)
			h.Error = agentscope.ErrorMessage(err)
		} else {
			h.Report = report
		}
	}
	if s.opts.UI.GatewayStats != nil {
		if org, err := agentscope.OrgFrom(ctx); err == nil {
			st := s.opts.UI.GatewayStats(org)
			h.Gateway = &ui.GatewayHealth{Calls: int64(st.Calls), Recorded: int64(st.Recorded), Dropped: int64(st.Dropped), Failed: int64(st.Failed),
				CapCheckErrors: int64(st.CapCheckErrors), LastError: st.LastError}
		}
	}
	if s.opts.UI.Searcher != nil {
		h.SearchBackend = cmp.Or(stats.backend, "configured (no search answered)")
		if len(stats.errors) > 0 {
			h.SearchError = stats.errors[0]
		}
	}
	return h
}
