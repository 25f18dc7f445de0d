package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/investigator/investigatortest"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// TestInvestigateLoop is the investigation loop in a browser: a session in
// which an agent looped, Investigate pressed on its replay page, the
// investigation's status moving queued → running → completed without a
// reload (the real runtime runs it: River worker, the embedded SPL engine
// for evidence, a scripted model held until the page shows it running),
// the report opened, and a cited event's link landing on its replay row.
func TestInvestigateLoop(t *testing.T) {
	chromium(t)
	llm := llmtest.New()
	defer llm.Close()
	release := make(chan struct{})
	var once sync.Once
	releaseModel := func() { once.Do(func() { close(release) }) }
	llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Hold: release, Content: `{"summary":"support-bot looped on lookup_order.","risk_level":"high",
			"findings":[{"title":"The same lookup, four times","severity":"high","evidence":["call-3"],"explanation":"lookup_order with order 42 again and again."}],
			"recommendations":["Cap identical tool calls at 2."]}`}
	})

	ctx := context.Background()
	srv, svc := startInvestigations(t, runtime.LLMConfig{BaseURL: llm.URL, APIKey: "test-key", Model: "gpt-4.1"})
	t.Cleanup(releaseModel) // before the server closes (cleanups run last first)

	// support-bot calls lookup_order with the same arguments four times:
	// call-3 is seq 8 (SessionStarted 1, two model events, then call/return
	// pairs from 4).
	octx := agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(org))
	if _, err := svc.StartRun(octx, service.StartRunInput{Agent: "support-bot", SessionID: "loop-1"}); err != nil {
		t.Fatal(err)
	}
	raws := []json.RawMessage{
		json.RawMessage(`{"event_id":"m-1","type":"ModelInvoked","provider":"openai","model":"gpt-4.1"}`),
		json.RawMessage(`{"event_id":"m-2","type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":800,"tokens_in":500,"tokens_out":40}`),
	}
	for i := 1; i <= 4; i++ {
		raws = append(raws,
			json.RawMessage(fmt.Sprintf(`{"event_id":"call-%d","type":"ToolCalled","tool":"lookup_order","call_id":"c%d","arguments":{"order":"42"}}`, i, i)),
			json.RawMessage(fmt.Sprintf(`{"event_id":"ret-%d","type":"ToolReturned","tool":"lookup_order","call_id":"c%d","duration_ms":30,"status":"ok"}`, i, i)))
	}
	if _, err := svc.Record(octx, "loop-1", raws); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EndRun(octx, service.EndRunInput{SessionID: "loop-1", Status: "completed"}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	b.signIn(srv.URL)
	b.do(chromedp.Navigate(srv.URL+"/sessions/loop-1"), chromedp.WaitVisible(chromedp.CSS("#report-panel button[type=submit]")))
	b.waitFor("the organisation feed", `document.body.dataset.feedReady === '1'`)
	b.markPage()
	// Note every status the panel shows; the panel is replaced as the
	// investigation moves on, so watch the page around it.
	eval[chromedp.Void](b, `window.__statuses = [];
		new MutationObserver(() => {
			const s = document.querySelector('#report-panel')?.dataset.status;
			if (s && window.__statuses[window.__statuses.length - 1] !== s) window.__statuses.push(s);
		}).observe(document.querySelector('#main'), {subtree: true, childList: true, attributes: true})`)
	b.do(chromedp.Click(chromedp.CSS("#report-panel button[type=submit]")))
	panel := `document.querySelector('#report-panel')`
	b.waitFor("the investigation running (the model call is held)", panel+`?.dataset.status === 'running'`)
	b.screenshot("investigation-running")
	releaseModel()
	b.waitFor("the report in the panel", panel+`?.dataset.reportStatus === 'completed' && `+panel+`.dataset.status === 'completed'`)
	if !b.pageKept() {
		t.Fatal("the page reloaded")
	}
	if seen := eval[[]string](b, `window.__statuses`); strings.Join(seen, " → ") != "queued → running → completed" {
		t.Errorf("statuses shown: %v", seen)
	}
	// The panel may be replaced by a later live update while it is read:
	// wait for the text rather than read a node once.
	b.waitFor("the report's summary", `document.querySelector('#report-panel .report-summary')?.textContent.trim() === 'support-bot looped on lookup_order.'`)
	b.screenshot("investigation-report-panel")

	// The report on its own page; its cited event leads to the replay row.
	b.do(chromedp.Click(chromedp.CSS(`#report-panel .report-meta a[href^="/reports/"]`)), chromedp.WaitVisible(chromedp.CSS(".report-page .model-finding a.ev-link")))
	if got := b.text(".deterministic h3"); got != "Deterministic findings" {
		t.Errorf("detector section %q", got)
	}
	if !eval[bool](b, `[...document.querySelectorAll('.spl-query .rows')].every((r) => /^\d+ rows?$/.test(r.textContent.trim()))`) {
		t.Error("a query without its row count")
	}
	b.screenshot("investigation-report")
	b.do(chromedp.Click(chromedp.CSS(`.model-finding a.ev-link[data-event-id="call-3"]`)), chromedp.WaitVisible(chromedp.CSS("#replay #ev-8")))
	b.waitFor("the cited row", `location.pathname === '/sessions/loop-1' && location.hash === '#ev-8' && !!document.querySelector('#ev-8.targeted')`)
	if !eval[bool](b, `(() => { const r = document.querySelector('#ev-8');
		const box = r.getBoundingClientRect();
		return r.querySelector('details').open && r.textContent.includes('"event_id": "call-3"') && box.top >= 0 && box.bottom <= innerHeight; })()`) {
		t.Error("the cited row is not open, in view and showing call-3")
	}
	b.screenshot("investigation-cited-row")

	// From the agents page: Run Splunk Investigation on support-bot's
	// latest run lists the investigation, which follows its run live.
	b.do(chromedp.Navigate(srv.URL+"/agents"), chromedp.WaitVisible(chromedp.CSS("#agent-support-bot .agent-investigate button[type=submit]")))
	b.waitFor("the organisation feed", `document.body.dataset.feedReady === '1'`)
	b.markPage()
	b.do(chromedp.Click(chromedp.CSS("#agent-support-bot .agent-investigate button[type=submit]")))
	chip := `document.querySelector('#agent-support-bot ul.investigations li')`
	b.waitFor("the agents page's investigation completed", chip+`?.dataset.status === 'completed' && !`+chip+`.hasAttribute('data-watch')`)
	if !b.pageKept() {
		t.Fatal("the agents page reloaded")
	}
	b.screenshot("investigation-agents")
}

// startInvestigations serves the web interface with the real runtime
// behind its investigation buttons: a River worker, the embedded SPL engine
// for evidence, and the model llm describes.
func startInvestigations(t *testing.T, llm runtime.LLMConfig) (*httptest.Server, *service.Service) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "inv.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	router, err := search.NewRouter("local", map[string]agentscope.Searcher{"local": spl.New(st, spl.Options{})}, search.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	svc, rt, inv := investigatortest.Start(t, st.Store, rec, runtime.Options{Workers: 1, LLM: llm,
		Getenv: func(string) string { return "" },
		River:  func(c *river.Config) { c.FetchPollInterval = 50 * time.Millisecond },
	}, router, "local")
	h := web.New(svc, web.Options{Tokens: map[string]string{token: org}})
	h.RouteInvestigations(inv)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		rt.Close()
		rec.Close()
		st.Close()
	})
	return srv, svc
}
