package e2e_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web"
)

// seedSession records a finished session of three turns through the API.
func seedSession(t *testing.T, a *app, sid, agent, status string) {
	t.Helper()
	a.api(t, "POST", "/api/v1/runs", fmt.Sprintf(`{"agent":%q,"session_id":%q,"input":{"question":"Can I get a refund on an annual plan?"}}`, agent, sid))
	start := time.Now().UTC()
	var evs []map[string]any
	for i := range 3 {
		st := "ok"
		if i == 1 {
			st = "error"
		}
		evs = append(evs, turn(sid, i, start.Add(time.Duration(i)*1300*time.Millisecond), st)...)
	}
	a.recordEvents(t, evs...)
	if status != "" {
		a.api(t, "POST", "/api/v1/runs/"+sid+"/end", fmt.Sprintf(`{"status":%q,"output":{"answer":"Yes, within 30 days."}}`, status))
	}
}

func TestSignIn(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	b := newBrowser(t)
	b.do(chromedp.Navigate(a.url+"/sessions"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc, _ := chromedp.Run(b.ctx, chromedp.Location()); !strings.Contains(loc, "/login?next=%2Fsessions") {
		t.Fatalf("not sent to sign in: %s", loc)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token"), chromedp.Submit(chromedp.CSS("#token")), chromedp.WaitVisible(chromedp.CSS(".notice.error")))
	if msg := b.text(".notice.error"); !strings.Contains(msg, "not valid") {
		t.Fatalf("bad token message: %q", msg)
	}
	b.screenshot("login-refused")
	b.do(chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Submit(chromedp.CSS("#token")), chromedp.WaitVisible(chromedp.CSS("#sessions")))
	if loc, _ := chromedp.Run(b.ctx, chromedp.Location()); !strings.HasSuffix(loc, "/sessions") {
		t.Fatalf("not brought back: %s", loc)
	}
	// The session cookie is out of the page script's reach.
	if c := eval[string](b, `document.cookie`); strings.Contains(c, "agentscope_session") {
		t.Fatalf("session cookie readable by script: %q", c)
	}
	b.do(chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#token")))
}

// TestPages renders every page with data, in both themes, for the
// screenshots, and checks each shows its content.
func TestPages(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	if err := a.store.PutAgent(a.ctx, agentscope.Agent{OrgID: org, Name: "research-agent", Kind: agentscope.AgentManaged, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	seedSession(t, a, "refund-1", "support-bot", "completed")
	seedSession(t, a, "refund-2", "support-bot", "failed")
	seedSession(t, a, "invoice-1", "billing-agent", "completed")
	seedSession(t, a, "invoice-2", "billing-agent", "")
	b := newBrowser(t)
	b.signIn(a.url)
	pages := []struct{ name, path, ready string }{
		{"dashboard", "/", "#card-support-bot"},
		{"agents", "/agents", "#agent-research-agent form"},
		{"sessions", "/sessions", "#sessions tr[data-session=refund-1]"},
		{"replay", "/sessions/refund-2", "#waterfall .wf-row.error"},
		{"search", "/search", "#search-unavailable"},
	}
	for _, theme := range []string{"light", "dark"} {
		b.theme(theme)
		for _, p := range pages {
			b.do(chromedp.Navigate(a.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			b.screenshot(p.name + "-" + theme)
		}
	}
	// A laptop-sized window still fits the replay without sideways scrolling.
	b.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(a.url+"/sessions/refund-2"), chromedp.WaitVisible(chromedp.CSS("#waterfall")))
	if w := eval[int](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 0 {
		t.Errorf("replay scrolls sideways by %dpx at 1280px", w)
	}
	b.screenshot("replay-laptop")
}

// TestLiveSession: events recorded through the API appear on an open
// replay without a reload, the totals and waterfall follow, and the run's
// end shows.
func TestLiveSession(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	a.api(t, "POST", "/api/v1/runs", `{"agent":"support-bot","session_id":"live-1"}`)
	b := newBrowser(t)
	b.signIn(a.url)
	b.do(chromedp.Navigate(a.url+"/sessions/live-1"), chromedp.WaitVisible(chromedp.CSS("#ev-1")))
	b.waitFor("the live feed", `document.querySelector('#live-status')?.dataset.state === 'open'`)
	b.markPage()

	start := time.Now().UTC()
	a.recordEvents(t, turn("live-1", 0, start, "ok")...)
	b.waitFor("five live events", `!!document.querySelector('#ev-6')`)
	b.waitFor("the waterfall to follow", `document.querySelectorAll('#waterfall .wf-row[data-from]').length === 2`)
	a.recordEvents(t, turn("live-1", 1, start.Add(1500*time.Millisecond), "error")...)
	b.waitFor("the second turn", `!!document.querySelector('#ev-11')`)
	b.waitFor("the totals to follow", `document.querySelector('#event-count')?.textContent.trim() === '11'`)
	b.screenshot("live-running")

	a.api(t, "POST", "/api/v1/runs/live-1/end", `{"status":"completed"}`)
	b.waitFor("the run's end", `document.querySelector('#timeline')?.dataset.status === 'completed'`)
	if !b.pageKept() {
		t.Fatal("the page reloaded")
	}
	if n := eval[int](b, `document.querySelectorAll('#events > li.ev').length`); n != 12 {
		t.Fatalf("%d events listed, want 12 (each once)", n)
	}
	// The rows the script rendered read as the server renders them.
	live := eval[[]string](b, `[...document.querySelectorAll('#events .ev-sum')].map(e => e.textContent)`)
	b.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#ev-12")))
	served := eval[[]string](b, `[...document.querySelectorAll('#events .ev-sum')].map(e => e.textContent)`)
	if strings.Join(live, "\n") != strings.Join(served, "\n") {
		t.Errorf("live rows differ from served rows:\nlive:   %q\nserved: %q", live, served)
	}
	b.screenshot("live-completed")
}

// TestReplayStepThrough walks a finished session with the keyboard and
// the player's buttons.
func TestReplayStepThrough(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	seedSession(t, a, "walk-1", "support-bot", "completed")
	b := newBrowser(t)
	b.signIn(a.url)
	b.do(chromedp.Navigate(a.url+"/sessions/walk-1"), chromedp.WaitVisible(chromedp.CSS("#player")))
	current := `document.querySelector('#events > li.ev.current')?.dataset.seq`

	b.do(chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight))
	b.waitFor("step 3", current+` === '3'`)
	if pos := b.text("#player-pos"); pos != "Step 3 of 17" {
		t.Errorf("position: %q", pos)
	}
	// Spans that have not started yet are dimmed; the cursor is on the axis.
	if n := eval[int](b, `document.querySelectorAll('#waterfall .wf-row.future').length`); n == 0 {
		t.Error("no future spans dimmed at step 3")
	}
	b.waitFor("the time cursor", `!document.querySelector('#wf-cursor').hidden`)
	b.screenshot("replay-step-3")
	b.do(chromedp.KeyEvent(kb.ArrowLeft))
	b.waitFor("step 2", current+` === '2'`)
	b.do(chromedp.Click(chromedp.CSS("[data-act=first]")))
	b.waitFor("step 1", current+` === '1'`)

	// Play at 20× runs to the end on its own, then stops.
	b.do(chromedp.SetValue(chromedp.CSS("[data-act=speed]"), "20"))
	eval[chromedp.Void](b, `document.querySelector('[data-act=speed]').dispatchEvent(new Event('change')); document.activeElement.blur()`)
	b.do(chromedp.KeyEvent(" "))
	b.waitFor("playing", `document.querySelector('[data-act=play]').textContent === 'Pause'`)
	b.waitFor("the last step", current+` === '17'`)
	b.waitFor("the player to stop", `document.querySelector('[data-act=play]').textContent === 'Play'`)
}

// TestSessionsListLive: a new session appears at the top of the open list
// without a reload, and its status follows.
func TestSessionsListLive(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	seedSession(t, a, "old-1", "support-bot", "completed")
	b := newBrowser(t)
	b.signIn(a.url)
	b.do(chromedp.Navigate(a.url+"/sessions"), chromedp.WaitVisible(chromedp.CSS("tr[data-session=old-1]")))
	b.waitFor("the organisation feed", `document.body.dataset.feedReady === '1'`)
	b.markPage()
	a.api(t, "POST", "/api/v1/runs", `{"agent":"billing-agent","session_id":"new-1"}`)
	b.waitFor("the new session at the top", `document.querySelector('#sessions tbody tr')?.dataset.session === 'new-1'`)
	a.api(t, "POST", "/api/v1/runs/new-1/end", `{"status":"failed","error":"card declined"}`)
	b.waitFor("its status", `document.querySelector('tr[data-session=new-1]')?.dataset.status === 'failed'`)
	if !b.pageKept() {
		t.Fatal("the page reloaded")
	}
	// j/k move the selection; Enter opens it.
	b.do(chromedp.KeyEvent("j"), chromedp.KeyEvent("j"))
	b.waitFor("the second row selected", `document.querySelector('#sessions tr.selected')?.dataset.session === 'old-1'`)
	b.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#replay")))
}

// TestManagedRunLiveStatus queues a managed run from the agents page and
// watches its row move queued → running → completed without a reload.
// The runtime is not wired into this test yet: runs go through the
// service.Launcher seam (web/internal/launchertest), which commits the
// same rows and run-state events through the real recorder and store.
func TestManagedRunLiveStatus(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	if err := a.store.PutAgent(a.ctx, agentscope.Agent{OrgID: org, Name: "research-agent", Kind: agentscope.AgentManaged, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.signIn(a.url)
	b.do(chromedp.Navigate(a.url+"/agents"), chromedp.WaitVisible(chromedp.CSS("#agent-research-agent textarea")))
	b.waitFor("the organisation feed", `document.body.dataset.feedReady === '1'`)
	b.markPage()
	b.do(
		chromedp.SendKeys(chromedp.CSS("#agent-research-agent textarea"), "Summarise this week's refund requests"),
		chromedp.Click(chromedp.CSS("#agent-research-agent button[type=submit]")),
	)
	row := `document.querySelector('tbody[data-runs-for="research-agent"] tr')`
	b.waitFor("the queued run", row+`?.dataset.status === 'queued'`)
	b.screenshot("managed-queued")
	sids := a.launcher.Launched()
	if len(sids) != 1 {
		t.Fatalf("launched %v", sids)
	}
	sid := sids[0]
	run, err := a.svc.GetRun(a.ctx, sid)
	if err != nil || string(run.Input) != `"Summarise this week's refund requests"` {
		t.Fatalf("queued run %+v: %v", run, err)
	}
	if _, err := a.launcher.Start(a.ctx, org, sid); err != nil {
		t.Fatal(err)
	}
	b.waitFor("running", row+`?.dataset.status === 'running'`)
	b.screenshot("managed-running")
	if _, err := a.launcher.Complete(a.ctx, org, sid); err != nil {
		t.Fatal(err)
	}
	b.waitFor("completed", row+`?.dataset.status === 'completed'`)
	if !b.pageKept() {
		t.Fatal("the page reloaded")
	}
	if n := eval[int](b, `document.querySelectorAll('tbody[data-runs-for="research-agent"] tr').length`); n != 1 {
		t.Fatalf("%d rows for one run", n)
	}
	b.screenshot("managed-completed")
}

// TestSearchPanelNotConfigured: without a search backend the panel says
// so plainly and offers no results.
func TestSearchPanelNotConfigured(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	b := newBrowser(t)
	b.signIn(a.url)
	b.do(chromedp.Navigate(a.url+"/search?q=type%3DToolReturned"), chromedp.WaitVisible(chromedp.CSS("#search-unavailable")))
	if msg := b.text("#search-unavailable .notice"); !strings.Contains(msg, "SPL search is not available on this server") {
		t.Fatalf("message: %q", msg)
	}
	if n := eval[int](b, `document.querySelectorAll('#results').length`); n != 0 {
		t.Fatal("results shown without a backend")
	}
}

// TestSearchPanelWithSPLEngine runs a query through the embedded SPL
// engine, as serve wires it, reads the table, and sees a bad query's error
// at its position.
func TestSearchPanelWithSPLEngine(t *testing.T) {
	a := splApp(t)
	seedSession(t, a, "find-1", "support-bot", "completed")
	b := newBrowser(t)
	b.signIn(a.url)
	q := url.QueryEscape(`type=ToolReturned | stats count by status | sort status`)
	b.do(chromedp.Navigate(a.url+"/search?q="+q), chromedp.WaitVisible(chromedp.CSS("#results")))
	rows := eval[[]string](b, `[...document.querySelectorAll('#results tbody tr')].map((r) => [...r.cells].map((c) => c.textContent.trim()).join(' '))`)
	if strings.Join(rows, "; ") != "error 1; ok 2" {
		t.Fatalf("rows %q", rows)
	}
	if got := b.text("#search-backend"); got != "local" {
		t.Errorf("backend %q", got)
	}
	b.screenshot("search-results")
	b.do(chromedp.Navigate(a.url+"/search?q="+url.QueryEscape(`type=ToolReturned | frobnicate`)), chromedp.WaitVisible(chromedp.CSS(".caret-box")))
	if got := b.text(".caret-line-no"); !strings.Contains(got, "position") {
		t.Errorf("error position %q", got)
	}
}
