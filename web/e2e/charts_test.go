package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/web"
)

// splApp is an app whose search page runs the embedded SPL engine.
func splApp(t *testing.T) *app {
	t.Helper()
	var engine atomic.Pointer[spl.Engine] // the engine needs the app's store
	a := startApp(t, web.UIOptions{Searcher: agentscope.SearchFunc(func(ctx context.Context, org string, q agentscope.SearchQuery) (*agentscope.SearchResult, error) {
		return engine.Load().Search(ctx, org, q)
	})})
	engine.Store(spl.New(a.store, spl.Options{}))
	return a
}

// TestSearchCharts: a timechart, and a stats by time buckets and another
// field, draw as a line chart above the table in a browser: the SVG has
// one line per series with a point per bucket that has a value, the
// legend names them, and the table follows; a plain stats, and a stats by
// raw _time, stay tables.
func TestSearchCharts(t *testing.T) {
	a := splApp(t)
	seedSession(t, a, "chart-1", "support-bot", "completed") // tool results ok, error, ok, 1.3 s apart
	b := newBrowser(t)
	b.signIn(a.url)
	for _, c := range []struct {
		query string
		// points of each series, or -1 for one per table row
		points map[string]int
	}{
		{`type=ToolReturned | timechart span=1s count by status`, map[string]int{"error": -1, "ok": -1}},
		{`type=ToolReturned | bin _time span=1s | stats count by _time, status`, map[string]int{"error": 1, "ok": 2}},
		{`type=ToolReturned | bin _time span=1s | stats count by _time`, map[string]int{"count": 3}},
	} {
		// The last two minutes: a timechart fills every 1 s bucket of its range.
		b.do(chromedp.Navigate(a.url+"/search?earliest=-2m&q="+url.QueryEscape(c.query)), chromedp.WaitVisible(chromedp.CSS("#results")))
		b.waitFor("the chart of "+c.query, `!!document.querySelector('figure.chart svg polyline')`)
		points := eval[map[string]int](b, `Object.fromEntries([...document.querySelectorAll('figure.chart svg polyline')].map((p) =>
			[p.querySelector('title').textContent, p.getAttribute('points').trim().split(/\s+/).length]))`)
		legend := eval[[]string](b, `[...document.querySelectorAll('figure.chart .legend span')].map((s) => s.textContent.trim()).sort()`)
		rows := eval[int](b, `document.querySelectorAll('#results tbody tr').length`)
		chartFirst := eval[bool](b, `!!(document.querySelector('figure.chart').compareDocumentPosition(document.querySelector('#results')) & Node.DOCUMENT_POSITION_FOLLOWING)`)
		text := eval[string](b, `document.querySelector('figure.chart svg').outerHTML`)
		if strings.Contains(text, "NaN") || strings.Contains(text, "Infinity") {
			t.Errorf("%s: the chart holds NaN or Infinity", c.query)
		}
		want := map[string]int{}
		var names []string
		for name, n := range c.points {
			if n < 0 {
				n = rows
			}
			want[name] = n
			names = append(names, name)
		}
		slices.Sort(names)
		if fmt.Sprint(points) != fmt.Sprint(want) || fmt.Sprint(legend) != fmt.Sprint(names) || rows < 3 || rows > 125 || !chartFirst {
			t.Errorf("%s: points per line %v, want %v; legend %v; %d table rows; chart above the table %v", c.query, points, want, legend, rows, chartFirst)
		}
	}
	b.screenshot("search-chart")
	for _, q := range []string{`type=ToolReturned | stats count by status`, `type=ToolReturned | stats count by _time`} {
		b.do(chromedp.Navigate(a.url+"/search?q="+url.QueryEscape(q)), chromedp.WaitVisible(chromedp.CSS("#results")))
		if n := eval[int](b, `document.querySelectorAll('figure.chart').length`); n != 0 {
			t.Errorf("%s drew %d charts", q, n)
		}
	}
}

// TestSessionUsageChart: a session page charts the session's cumulative
// cost (a line that never falls) and its tokens per bucket (input and
// output bars), says in words what they show, and a session without cost
// or tokens has no such panel.
func TestSessionUsageChart(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	seedSession(t, a, "cost-1", "support-bot", "completed") // model calls 1.3 s apart
	a.api(t, "POST", "/api/v1/runs", `{"agent":"quiet-bot","session_id":"quiet-1"}`)
	b := newBrowser(t)
	b.signIn(a.url)
	b.do(chromedp.Navigate(a.url+"/sessions/cost-1"), chromedp.WaitVisible(chromedp.CSS("#usage figure.chart svg")))
	labels := eval[[]string](b, `[...document.querySelectorAll('#usage figure.chart svg')].map((s) => s.getAttribute('aria-label'))`)
	if fmt.Sprint(labels) != "[Cumulative cost in USD over the session, by 1-second bucket Input and output tokens per 1-second bucket]" {
		t.Errorf("usage charts %q", labels)
	}
	ys := eval[[]float64](b, `document.querySelector('#usage figure.chart polyline').getAttribute('points').trim().split(/\s+/).map((p) => +p.split(',')[1])`)
	if len(ys) < 3 || ys[len(ys)-1] >= ys[0] {
		t.Errorf("cost line ys %v: want a point per bucket (at least 3), rising", ys)
	}
	for i := 1; i < len(ys); i++ {
		if ys[i] > ys[i-1] {
			t.Errorf("cumulative cost falls: ys %v", ys)
		}
	}
	bars := eval[[]string](b, `[...document.querySelectorAll('#usage figure.chart rect')].map((r) => r.querySelector('title').textContent.replace(/ · [^·]+ · /, ' '))`)
	if fmt.Sprint(bars) != "[input tokens 1800 output tokens 240 input tokens 1800 output tokens 240 input tokens 1800 output tokens 240]" {
		t.Errorf("token bars %q: want input and output for each of the three model calls' buckets", bars)
	}
	if got := b.text("#usage-summary"); got != "$0.0375 over 3 cost events; 5,400 input and 720 output tokens over 3 model calls, in 1-second buckets." {
		t.Errorf("summary %q", got)
	}
	b.screenshot("session-usage")
	b.do(chromedp.Navigate(a.url+"/sessions/quiet-1"), chromedp.WaitVisible(chromedp.CSS("#events")))
	if eval[bool](b, `!!document.querySelector('#usage, #usage figure.chart')`) {
		t.Error("a session without cost or tokens shows a usage panel")
	}
}

// TestFailedInvestigationPage: an investigation that fails closed (no model
// key) shows, on the session page and on its report page, that it failed
// and why — never a risk badge.
func TestFailedInvestigationPage(t *testing.T) {
	chromium(t)
	srv, svc := startInvestigations(t, runtime.LLMConfig{Model: "gpt-4.1"}) // no key
	octx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal(org))
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
