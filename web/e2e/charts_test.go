package e2e_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/splunkbridge/spl"
	"github.com/agentscope/agentscope/web"
)

// splApp is an app whose search page runs the embedded SPL engine.
func splApp(t *testing.T) *app {
	t.Helper()
	var engine atomic.Pointer[spl.Engine] // the engine needs the app's store
	a := startApp(t, web.UIOptions{Searcher: web.SearchFunc(func(ctx context.Context, org, q, earliest, latest string, limit int) (*web.SearchResult, error) {
		res, err := engine.Load().Run(ctx, org, q, spl.QueryOptions{EarliestTime: earliest, LatestTime: latest, RowLimit: limit})
		if err != nil {
			return nil, err
		}
		return &web.SearchResult{Fields: res.Fields, Rows: res.Rows, Backend: "local"}, nil
	})})
	engine.Store(spl.New(a.store, spl.Options{}))
	return a
}

// TestSearchCharts: a timechart, and a stats by _time and another field,
// draw as a line chart above the table in a browser: the SVG has one line
// per series and the legend names them; a plain stats stays a table.
func TestSearchCharts(t *testing.T) {
	a := splApp(t)
	seedSession(t, a, "chart-1", "support-bot", "completed")
	b := newBrowser(t)
	b.signIn(a.url)
	for _, c := range []struct {
		query  string
		legend string
	}{
		{`type=ToolReturned | timechart span=1s count by status`, "error ok"},
		{`type=ToolReturned | bin _time span=1s | stats count by _time, status`, "error ok"},
	} {
		b.do(chromedp.Navigate(a.url+"/search?q="+url.QueryEscape(c.query)), chromedp.WaitVisible(chromedp.CSS("#results")))
		b.waitFor("the chart of "+c.query, `!!document.querySelector('figure.chart svg polyline')`)
		lines := eval[int](b, `document.querySelectorAll('figure.chart svg polyline').length`)
		legend := eval[[]string](b, `[...document.querySelectorAll('figure.chart .legend span')].map((s) => s.textContent.trim()).sort()`)
		rows := eval[int](b, `document.querySelectorAll('#results tbody tr').length`)
		text := eval[string](b, `document.querySelector('figure.chart svg').outerHTML`)
		if strings.Contains(text, "NaN") || strings.Contains(text, "Infinity") {
			t.Errorf("%s: the chart holds NaN or Infinity", c.query)
		}
		if lines != 2 || strings.Join(legend, " ") != c.legend || rows == 0 {
			t.Errorf("%s: %d lines, legend %v, %d table rows", c.query, lines, legend, rows)
		}
	}
	b.screenshot("search-chart")
	b.do(chromedp.Navigate(a.url+"/search?q="+url.QueryEscape(`type=ToolReturned | stats count by status`)), chromedp.WaitVisible(chromedp.CSS("#results")))
	if n := eval[int](b, `document.querySelectorAll('figure.chart').length`); n != 0 {
		t.Errorf("stats by status drew %d charts", n)
	}
}

// TestSessionUsageChart: a session page charts the session's running cost
// and tokens, says in words what they show, and a session without either
// has no such panel.
func TestSessionUsageChart(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	seedSession(t, a, "cost-1", "support-bot", "completed")
	a.api(t, "POST", "/api/v1/runs", `{"agent":"quiet-bot","session_id":"quiet-1"}`)
	b := newBrowser(t)
	b.signIn(a.url)
	b.do(chromedp.Navigate(a.url+"/sessions/cost-1"), chromedp.WaitVisible(chromedp.CSS("#usage figure.chart svg")))
	lines := eval[[]int](b, `[...document.querySelectorAll('#usage figure.chart')].map((f) => f.querySelectorAll('polyline').length)`)
	if len(lines) != 2 || lines[0] != 1 || lines[1] != 2 {
		t.Errorf("usage charts' lines: %v, want [1 2] (cost; input and output tokens)", lines)
	}
	if got := b.text("#usage-summary"); got != "$0.0375 over 3 cost events; 5,400 input and 720 output tokens over 3 model calls." {
		t.Errorf("summary %q", got)
	}
	b.screenshot("session-usage")
	b.do(chromedp.Navigate(a.url+"/sessions/quiet-1"), chromedp.WaitVisible(chromedp.CSS("#events")))
	if eval[bool](b, `!!document.querySelector('#usage')`) {
		t.Error("a session without cost or tokens shows a usage panel")
	}
}

// TestFailedInvestigationPage: an investigation that fails closed (no model
// key) shows, on the session page and on its report page, that it failed
// and why — never a risk badge.
func TestFailedInvestigationPage(t *testing.T) {
	chromium(t)
	srv, svc := startInvestigations(t, runtime.LLMConfig{Model: "gpt-4.1"}) // no key
	octx := agentscope.WithOrg(context.Background(), org)
	if _, err := svc.StartRun(octx, service.StartRunInput{Agent: "support-bot", SessionID: "fail-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Record(octx, "fail-1", []json.RawMessage{json.RawMessage(`{"type":"ToolCalled","tool":"lookup_order","call_id":"c1"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EndRun(octx, service.EndRunInput{SessionID: "fail-1", Status: "completed"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.signIn(srv.URL)
	b.do(chromedp.Navigate(srv.URL+"/sessions/fail-1"), chromedp.WaitVisible(chromedp.CSS("#report-panel button[type=submit]")))
	b.waitFor("the organisation feed", `document.body.dataset.feedReady === '1'`)
	b.do(chromedp.Click(chromedp.CSS("#report-panel button[type=submit]")))
	panel := `document.querySelector('#report-panel')`
	b.waitFor("the investigation failed", panel+`?.dataset.status === 'failed'`)
	b.screenshot("investigation-failed-panel")
	b.do(chromedp.Navigate(srv.URL+"/reports/fail-1"), chromedp.WaitVisible(chromedp.CSS(".report-error")))
	msg := b.text(".report-error")
	if !strings.Contains(msg, "The investigation failed:") || !strings.Contains(msg, "AGENTSCOPE_LLM_API_KEY") {
		t.Errorf("failure notice %q, want the reason naming the missing setting", msg)
	}
	if n := eval[int](b, `document.querySelectorAll('[data-risk]').length`); n != 0 {
		t.Errorf("%d risk badges on a failed investigation's page", n)
	}
	b.screenshot("investigation-failed-report")
}
