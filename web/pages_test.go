package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web"
	"github.com/agentscope/agentscope/web/internal/launchertest"
)

func TestDashboardFromStore(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	f.startRun(t, "support-bot", "ok-1")
	f.recordTurn(t, "ok-1", 1, false)
	f.recordTurn(t, "ok-1", 2, true)
	if _, err := f.svc.EndRun(f.ctx, service.EndRunInput{SessionID: "ok-1", Status: "completed"}); err != nil {
		t.Fatal(err)
	}
	f.startRun(t, "support-bot", "bad-1")
	if _, err := f.svc.EndRun(f.ctx, service.EndRunInput{SessionID: "bad-1", Status: "failed", Error: "the model refused"}); err != nil {
		t.Fatal(err)
	}
	c := f.signIn(t)
	code, body := get(t, c, f.srv.URL+"/")
	if code != http.StatusOK {
		t.Fatalf("dashboard: %d", code)
	}
	mustContain(t, "dashboard", body,
		"Computed from the event store: no SPL backend is configured.",
		`id="card-support-bot"`,
		"50%",    // 1 of 2 finished runs completed
		"500 ms", // p50 of 500 and 600 ms, nearest rank
		"600 ms", // p95
		"$0.025", // two costs of $0.0125
		"Splunk forwarding is not configured",
		"the model refused", // latest failed runs
		`<svg viewBox="0 0 720 220" role="img" aria-label="Cost by agent over time"`,
	)
	if !strings.Contains(body, `title="1 of 2 calls"`) {
		t.Error("tool error rate: missing 1 of 2 calls")
	}
}

// stubSearcher answers the dashboard's searches with canned rows and
// records what it was asked.
type stubSearcher struct {
	mu      sync.Mutex
	queries []string
	ranges  []string
}

func (s *stubSearcher) Search(ctx context.Context, org string, sq agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	q := sq.Query
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.ranges = append(s.ranges, sq.Earliest+".."+sq.Latest)
	s.mu.Unlock()
	if org != "org-1" {
		return nil, fmt.Errorf("searched org %q", org)
	}
	today := float64(time.Now().UTC().Truncate(24 * time.Hour).Unix())
	rows := map[string][]map[string]any{
		`type="SessionCompleted"`: {{"agent": "planner", "status": "completed", "runs": "9"}, {"agent": "planner", "status": "failed", "runs": "1"}},
		`type="ModelCompleted"`:   {{"agent": "planner", "calls": "40", "p50_ms": "850", "p95_ms": "2100.5"}},
		`type="ToolReturned"`:     {{"agent": "planner", "calls": json.Number("50"), "errors": json.Number("5")}},
		`type="CostRecorded"`:     {{"_time": today, "agent": "planner", "cost_usd": 1.25}},
	}
	for k, r := range rows {
		if strings.Contains(q, k) {
			return &agentscope.SearchResult{Results: r, Backend: "test-spl"}, nil
		}
	}
	return &agentscope.SearchResult{Backend: "test-spl"}, nil
}

func TestDashboardFromSPL(t *testing.T) {
	searcher := &stubSearcher{}
	health := web.HealthFunc(func(context.Context) (agentscope.SplunkHealth, error) {
		return agentscope.SplunkHealth{Enabled: true, QueueDepth: 42, OldestUndeliveredSeconds: 90, DeadLetters: 3, LastError: "HEC 503: busy", Delivered: 1000}, nil
	})
	budgets := web.BudgetFunc(func(ctx context.Context, org string) ([]agentscope.BudgetStatus, error) {
		return []agentscope.BudgetStatus{{AgentCostBudget: agentscope.AgentCostBudget{Agent: "planner", Period: agentscope.PeriodDay, LimitUSD: 5 * agentscope.NanosPerUSD, HardCap: true}, SpentUSD: 4_300_000_000}}, nil
	})
	f := uiSetup(t, web.UIOptions{Searcher: searcher, SplunkHealth: health, Budgets: budgets})
	_, body := get(t, f.signIn(t), f.srv.URL+"/?range=24h")
	mustContain(t, "dashboard", body,
		"Computed with SPL by test-spl",
		`id="card-planner"`,
		"90%", "850 ms", "2.1 s", "10%", "$1.25",
		"Daily budget", "$4.30 of $5.00", "hard cap",
		"42 events", "1m 30s", "HEC 503: busy", "<code>test-spl</code>",
		"stats count AS calls perc50(duration_ms) AS p50_ms perc95(duration_ms) AS p95_ms by agent",
	)
	if len(searcher.queries) != 4 {
		t.Fatalf("searches: %q", searcher.queries)
	}
	for i, r := range searcher.ranges {
		if r != "-24h..now" || !strings.HasPrefix(searcher.queries[i], `sourcetype="agentscope:events" type=`) {
			t.Errorf("search %d: %q over %s", i, searcher.queries[i], r)
		}
	}
}

// TestDashboardGatewayHealth: the health panel shows what the LLM gateway
// could not record of the signed-in organisation's calls.
func TestDashboardGatewayHealth(t *testing.T) {
	var asked []string
	stats := func(org string) gateway.Stats {
		asked = append(asked, org)
		return gateway.Stats{Calls: 1234, Recorded: 1200, Dropped: 30, Failed: 4, LastError: "store down"}
	}
	f := uiSetup(t, web.UIOptions{GatewayStats: stats})
	_, body := get(t, f.signIn(t), f.srv.URL+"/")
	mustContain(t, "dashboard", body, "LLM gateway", "1,234", "30 dropped (queue full), 4 failed", "store down")
	if len(asked) != 1 || asked[0] != "org-1" {
		t.Fatalf("stats asked for %q", asked)
	}
}

func TestAgentsPageAndRunForm(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	if err := f.svc.Store().PutAgent(f.ctx, agentscope.Agent{OrgID: "org-1", Name: "planner", Kind: agentscope.AgentManaged, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.startRun(t, "reporter", "ext-1")
	c := f.signIn(t)
	code, page := get(t, c, f.srv.URL+"/agents")
	if code != http.StatusOK {
		t.Fatalf("agents: %d", code)
	}
	mustContain(t, "agents", page, `id="agent-planner"`, `action="/agents/planner/runs"`, `name="csrf"`, `id="agent-reporter"`,
		"External agent: it reports its own runs.", "Budgets are not shown", "data-feed=")
	csrf := csrfOf(t, page)

	// Without a runtime, a managed agent cannot run: the page says why.
	resp, err := c.PostForm(f.srv.URL+"/agents/planner/runs", url.Values{"csrf": {csrf}, "input": {"plan a trip"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("run without runtime: %d", resp.StatusCode)
	}

	l := launchertest.New(f.rec)
	f = f.withLauncher(t, l)
	// Without the script: queued, then back to the page, which lists it.
	resp, err = c.PostForm(f.srv.URL+"/agents/planner/runs", url.Values{"csrf": {csrf}, "input": {"plan a trip"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agents#agent-planner" {
		t.Fatalf("run: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	sid := l.Launched()[0]
	run, err := f.svc.GetRun(f.ctx, sid)
	if err != nil || string(run.Input) != `"plan a trip"` || run.Status != agentscope.StatusQueued {
		t.Fatalf("queued run: %+v %v", run, err)
	}
	_, page = get(t, c, f.srv.URL+"/agents")
	mustContain(t, "agents after run", page, `data-session="`+sid+`"`, `data-status="queued"`)

	// With the script: the new row comes back at once.
	req, _ := http.NewRequest("POST", f.srv.URL+"/agents/planner/runs", strings.NewReader(url.Values{"input": {`{"city":"Oslo"}`}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Requested-With", "fetch")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(t, resp))
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(strings.TrimSpace(b.String()), "<tr data-session=") {
		t.Fatalf("fetch run: %d %s", resp.StatusCode, b.String())
	}

	// An external agent cannot be started from the browser.
	resp, err = c.PostForm(f.srv.URL+"/agents/reporter/runs", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("run external agent: %d", resp.StatusCode)
	}
}

func TestSessionsPage(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	for i := range 55 {
		agent := "alpha"
		if i%5 == 0 {
			agent = "beta"
		}
		f.startRun(t, agent, fmt.Sprintf("run-%02d", i))
	}
	if _, err := f.svc.EndRun(f.ctx, service.EndRunInput{SessionID: "run-07", Status: "failed", Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	c := f.signIn(t)
	_, page := get(t, c, f.srv.URL+"/sessions")
	if n := strings.Count(page, "<tr data-session="); n != 50 {
		t.Fatalf("first page: %d rows", n)
	}
	mustContain(t, "sessions", page, `data-live-insert`, `rel="next"`, "run-54", `<option value="beta">beta</option>`)
	next := between(page, `rel="next" href="`, `"`)
	_, page2 := get(t, c, f.srv.URL+strings.ReplaceAll(next, "&amp;", "&"))
	if n := strings.Count(page2, "<tr data-session="); n != 5 || strings.Contains(page2, "data-live-insert") || !strings.Contains(page2, "run-00") {
		t.Fatalf("second page: %d rows", n)
	}
	_, beta := get(t, c, f.srv.URL+"/sessions?agent=beta")
	if n := strings.Count(beta, "<tr data-session="); n != 11 {
		t.Errorf("agent filter: %d rows", n)
	}
	_, failed := get(t, c, f.srv.URL+"/sessions?status=failed&since=1h")
	if n := strings.Count(failed, "<tr data-session="); n != 1 || !strings.Contains(failed, "run-07") {
		t.Errorf("status filter: %d rows", n)
	}
	if code, _ := get(t, c, f.srv.URL+"/sessions?status=bogus"); code != http.StatusBadRequest {
		t.Errorf("bad status: %d", code)
	}
	// The row fragment the script fetches honours the list's filters.
	if code, row := get(t, c, f.srv.URL+"/ui/fragments/runs/run-07?status=failed"); code != http.StatusOK || !strings.Contains(row, `data-status="failed"`) {
		t.Errorf("row fragment: %d %s", code, row)
	}
	if code, _ := get(t, c, f.srv.URL+"/ui/fragments/runs/run-07?agent=beta"); code != http.StatusNoContent {
		t.Errorf("filtered-out row fragment: %d", code)
	}
}

func TestReplayPage(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	sid := `sess_1-"x"`[:6] // session ids are plain; the SPL quoting is tested on its own
	f.startRun(t, "support-bot", sid)
	f.recordTurn(t, sid, 1, false)
	f.recordTurn(t, sid, 2, true)
	c := f.signIn(t)
	code, page := get(t, c, f.srv.URL+"/sessions/"+sid)
	if code != http.StatusOK {
		t.Fatalf("replay: %d", code)
	}
	// Everything is in the HTML, for readers without JavaScript.
	mustContain(t, "replay", page,
		`index=&#34;agentscope&#34; sourcetype=&#34;agentscope:events&#34; session_id=&#34;`+sid+`&#34;`,
		`id="ev-1"`, `id="ev-11"`, "<details>", "ModelCompleted", "search_docs · error · 120 ms",
		`&#34;call_id&#34;: &#34;c2&#34;`,                                        // the full event JSON
		`class="wf-row model"`, `class="wf-row tool error"`, "padding-left:24px", // a tool call nested under its model turn
		"2,400 / 600", "$0.025", `data-live`, `id="player"`,
	)
	if code, _ := get(t, c, f.srv.URL+"/sessions/nope"); code != http.StatusNotFound {
		t.Errorf("unknown session: %d", code)
	}
	if code, _ := get(t, c, f.srv.URL+"/sessions/"+sid+"?after=x"); code != http.StatusBadRequest {
		t.Errorf("bad after: %d", code)
	}
	// The timeline fragment the live page re-fetches.
	if code, tl := get(t, c, f.srv.URL+"/ui/fragments/sessions/"+sid+"/timeline"); code != http.StatusOK || !strings.HasPrefix(tl, `<section class="panel timeline" id="timeline"`) {
		t.Errorf("timeline fragment: %d", code)
	}
}

func TestReplayPagesLongSessions(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	f.startRun(t, "bot", "long")
	var evs []string
	for i := range 700 {
		evs = append(evs, fmt.Sprintf(`{"type":"ToolCalled","tool":"t","call_id":"c%d"}`, i))
	}
	f.recordJSON(t, "long", evs...)
	c := f.signIn(t)
	_, page := get(t, c, f.srv.URL+"/sessions/long")
	if n := strings.Count(page, `<li class="ev`); n != 500 || !strings.Contains(page, `id="more-events"`) || !strings.Contains(page, "?after=500") {
		t.Fatalf("first page: %d events", n)
	}
	_, page2 := get(t, c, f.srv.URL+"/sessions/long?after=500")
	if n := strings.Count(page2, `<li class="ev`); n != 201 || !strings.Contains(page2, `id="ev-501"`) || strings.Contains(page2, `id="more-events"`) {
		t.Fatalf("second page: %d events", n)
	}
	// The script pages through the JSON API with the cookie.
	var rp service.ReplayPage
	code, body := get(t, c, f.srv.URL+"/ui/api/sessions/long/events?cursor=500&limit=500")
	if err := json.Unmarshal([]byte(body), &rp); err != nil || code != 200 || len(rp.Events) != 201 || rp.Events[0].Seq != 501 {
		t.Fatalf("events API: %d %v %d", code, err, len(rp.Events))
	}
}

func TestSearchPage(t *testing.T) {
	t.Run("not configured", func(t *testing.T) {
		f := uiSetup(t, web.UIOptions{})
		code, page := get(t, f.signIn(t), f.srv.URL+"/search?q=type%3DToolReturned")
		if code != http.StatusOK {
			t.Fatalf("search: %d", code)
		}
		mustContain(t, "search", page, `id="search-unavailable"`, "SPL search is not available on this server", "cost_by_agent")
	})
	searcher := agentscope.SearchFunc(func(ctx context.Context, org string, sq agentscope.SearchQuery) (*agentscope.SearchResult, error) {
		switch q := sq.Query; {
		case strings.Contains(q, "stst"):
			return nil, &posError{Pos: 20}
		case strings.Contains(q, "table tok_*"): // no event has a tok_ field
			return &agentscope.SearchResult{Fields: []string{}, Backend: "test-spl", Results: []map[string]any{{}, {}, {}}}, nil
		case strings.Contains(q, "timechart"):
			return &agentscope.SearchResult{Fields: []string{"_time", "planner"}, Backend: "test-spl", Results: []map[string]any{
				{"_time": "2026-01-01T00:00:00.000+00:00", "planner": "1.5"}, {"_time": "2026-01-01T01:00:00.000+00:00", "planner": "2"}}}, nil
		}
		return &agentscope.SearchResult{Fields: []string{"tool", "calls"}, Backend: "test-spl", Results: []map[string]any{{"tool": "search_docs", "calls": 12.0}, {"tool": "lookup", "calls": "3"}}}, nil
	})
	f := uiSetup(t, web.UIOptions{Searcher: searcher})
	c := f.signIn(t)
	_, page := get(t, c, f.srv.URL+"/search?q="+url.QueryEscape("type=ToolReturned | stats count AS calls by tool")+"&earliest=-7d")
	mustContain(t, "results", page, `id="results"`, "<td>search_docs</td>", `<td class="num">12</td>`, `<code id="search-backend">test-spl</code>`, `<option value="-7d" selected>`)
	_, chart := get(t, c, f.srv.URL+"/search?q="+url.QueryEscape("type=CostRecorded | timechart span=1h sum(amount_usd) AS planner"))
	mustContain(t, "timechart", chart, `aria-label="Search results over time"`, `<polyline class="line s1"`)
	// Rows without a field to show say so, not a table of blank lines.
	_, none := get(t, c, f.srv.URL+"/search?q="+url.QueryEscape("type=ModelCompleted | table tok_*"))
	mustContain(t, "rows without fields", none, "<strong>3</strong> rows", `id="results-no-fields"`, "None of these rows has a field to show")
	if strings.Contains(none, `id="results"`) {
		t.Errorf("rows without fields are shown as a table:\n%s", between(none, `class="panel flush results"`, "</section>"))
	}
	code, bad := get(t, c, f.srv.URL+"/search?q="+url.QueryEscape("type=ToolReturned | stst count"))
	if code != http.StatusBadRequest {
		t.Errorf("bad query: %d", code)
	}
	mustContain(t, "error", bad, "unknown command &#34;stst&#34;", "Line 1, position 20", `<pre class="caret" id="error-caret">                    ^</pre>`)
}

// posError is an engine's syntax error: a Pos field, as spl
// reports it.
type posError struct{ Pos int }

func (e *posError) Error() string {
	return fmt.Sprintf("spl: syntax error at position %d: unknown command \"stst\"", e.Pos)
}

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(after, to)
	return v
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
