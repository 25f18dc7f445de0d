package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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

// otherToken signs in to another organisation.
const otherToken = "other-org-token-0123456789"

// invFixture is the web interface over a real runtime whose investigator
// searches the embedded SPL engine and asks a scripted model.
type invFixture struct {
	*uiFixture
	rt  *runtime.Runtime
	llm *llmtest.Server
}

// invSetup starts the runtime; withModel false leaves it without model
// credentials, so every investigation fails closed.
func invSetup(t *testing.T, withModel bool) *invFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "inv.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	llm := llmtest.New()
	router, err := search.NewRouter("local", map[string]agentscope.Searcher{"local": spl.New(st, spl.Options{})}, search.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	opts := runtime.Options{
		Workers: 2,
		Getenv:  func(string) string { return "" },
		River: func(c *river.Config) {
			c.FetchPollInterval = 50 * time.Millisecond
			c.TestOnly = true
		},
	}
	if withModel {
		opts.LLM = runtime.LLMConfig{BaseURL: llm.URL, APIKey: "test-key", Model: "gpt-4.1"}
	}
	svc, rt, inv := investigatortest.Start(t, st.Store, rec, opts, router, "local")
	h := web.New(svc, web.Options{Tokens: map[string]string{token: "org-1", otherToken: "org-2"}, LivePoll: time.Hour})
	h.RouteInvestigations(inv)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := rt.Close(); err != nil {
			t.Errorf("close runtime: %v", err)
		}
		llm.Close()
		rec.Close()
		st.Close()
	})
	f := &invFixture{uiFixture: &uiFixture{srv: srv, svc: svc, rec: rec, store: st, ctx: agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal("org-1"))}, rt: rt, llm: llm}
	if err := svc.PrepareOrg(f.ctx, "org-1"); err != nil {
		t.Fatal(err)
	}
	return f
}

// loopingSession records a completed run in which support-bot called the
// same tool with the same arguments four times, then was served by
// another provider. Its events' seqs: SessionStarted 1, m-1 2, m-2 3,
// call-1 4, ret-1 5, call-2 6, ret-2 7, call-3 8, …
func (f *invFixture) loopingSession(t *testing.T, sid string) {
	t.Helper()
	f.startRun(t, "support-bot", sid)
	evs := []string{
		`{"event_id":"m-1","type":"ModelInvoked","provider":"openai","model":"gpt-4.1"}`,
		`{"event_id":"m-2","type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":800,"tokens_in":500,"tokens_out":40}`,
	}
	for i := 1; i <= 4; i++ {
		evs = append(evs,
			fmt.Sprintf(`{"event_id":"call-%d","type":"ToolCalled","tool":"lookup_order","call_id":"c%d","arguments":{"order":"42"}}`, i, i),
			fmt.Sprintf(`{"event_id":"ret-%d","type":"ToolReturned","tool":"lookup_order","call_id":"c%d","duration_ms":30,"status":"ok"}`, i, i))
	}
	evs = append(evs,
		`{"event_id":"m-3","type":"ModelInvoked","provider":"anthropic","model":"claude-sonnet-4"}`,
		`{"event_id":"m-4","type":"ModelCompleted","provider":"anthropic","model":"claude-sonnet-4","duration_ms":900,"tokens_in":700,"tokens_out":60}`)
	f.recordJSON(t, sid, evs...)
	if _, err := f.svc.EndRun(f.ctx, service.EndRunInput{SessionID: sid, Status: "completed"}); err != nil {
		t.Fatal(err)
	}
}

// modelReport cites two real events and one invented one (dropped).
const modelReport = `{"summary":"The agent looped on lookup_order <and> switched provider.","risk_level":"high",
"findings":[
 {"title":"Repeated identical tool calls","severity":"high","evidence":["call-2","call-3"],"explanation":"lookup_order with order 42 again and again."},
 {"title":"Invented","severity":"critical","evidence":["evt-made-up"],"explanation":"cites nothing real"}],
"recommendations":["Cap identical tool calls at 2."]}`

// waitEnded waits for a run to end.
func (f *invFixture) waitEnded(t *testing.T, sid string) agentscope.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		run, err := f.store.GetRun(context.Background(), "org-1", sid)
		if err == nil && run.Status.Terminal() {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not end: %+v %v", sid, run, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signInAs returns a browser signed in with tok.
func (f *uiFixture) signInAs(t *testing.T, tok string) *http.Client {
	t.Helper()
	c := f.browser(t)
	resp, err := c.PostForm(f.srv.URL+"/login", url.Values{"token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	return c
}

// postForm posts a form as the browser would, optionally as the script
// (X-Requested-With: fetch), and returns the status, Location and body.
func postForm(t *testing.T, c *http.Client, u string, form url.Values, fetch bool) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if fetch {
		req.Header.Set("X-Requested-With", "fetch")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

var reportLocation = regexp.MustCompile(`^/reports/([A-Za-z0-9._:-]+)$`)

// investigateFromReplay presses Investigate on a session's replay page
// without the script and returns the investigation's session id.
func (f *invFixture) investigateFromReplay(t *testing.T, c *http.Client, sid string) string {
	t.Helper()
	_, page := get(t, c, f.srv.URL+"/sessions/"+sid)
	mustContain(t, "replay page", page, `action="/sessions/`+sid+`/investigate"`, "has not been investigated yet")
	code, loc, body := postForm(t, c, f.srv.URL+"/sessions/"+sid+"/investigate", url.Values{"csrf": {csrfOf(t, page)}}, false)
	m := reportLocation.FindStringSubmatch(loc)
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("investigate: %d %q %s", code, loc, body)
	}
	return m[1]
}

func TestReportPageLinksEvidenceToReplayRows(t *testing.T) {
	f := invSetup(t, true)
	f.llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: modelReport, Usage: llmtest.Usage{PromptTokens: 2000, CompletionTokens: 150}}
	})
	f.loopingSession(t, "loop-1")
	c := f.signIn(t)
	inv := f.investigateFromReplay(t, c, "loop-1")
	if run := f.waitEnded(t, inv); run.Status != agentscope.StatusCompleted {
		t.Fatalf("investigation %s: %s", run.Status, run.Error)
	}

	for _, id := range []string{inv, "loop-1"} {
		code, body := get(t, c, f.srv.URL+"/reports/"+id)
		if code != http.StatusOK {
			t.Fatalf("report by %s: %d", id, code)
		}
		mustContain(t, "report by "+id, body,
			`data-risk="high"`,
			"The agent looped on lookup_order &lt;and&gt; switched provider.", // escaped
			"Model analysis", "Repeated identical tool calls",
			// call-2 and call-3 are seqs 6 and 8 of loop-1.
			`href="/sessions/loop-1#ev-6" data-event-id="call-2"`,
			`href="/sessions/loop-1#ev-8" data-event-id="call-3"`,
			"1 finding was dropped",
			"Cap identical tool calls at 2.",
			"Deterministic findings", "these are not the model's analysis",
			`data-kind="loop"`,
			`href="/sessions/loop-1#ev-4" data-event-id="call-1"`, // the loop detector's first call
			// Every query copyable, with its row count: the timeline has the
			// 16 events of loop-1 (SessionStarted, 12 recorded, the computed costs of its 2 unpriced model calls, SessionCompleted).
			`<pre class="spl" id="rq-0">`, `data-copy="#rq-0"`, "16 rows",
		)
		if strings.Contains(body, "Invented") {
			t.Error("the ungrounded finding is shown")
		}
	}

	// The replay page's panel shows the same report, and the cited rows
	// carry the ids the links point at.
	_, replay := get(t, c, f.srv.URL+"/sessions/loop-1")
	mustContain(t, "replay panel", replay, `id="report-panel"`, `data-report="`+inv+`"`, `data-report-status="completed"`,
		`href="/sessions/loop-1#ev-6"`, `id="ev-6"`, "Deterministic findings", "InvestigationReported", "report completed")

	// The reports list, filtered by risk.
	_, list := get(t, c, f.srv.URL+"/reports?risk_level=high")
	mustContain(t, "reports list", list, `href="/reports/`+inv+`"`, `<option value="high" selected>`)
	_, list = get(t, c, f.srv.URL+"/reports?risk_level=low")
	if strings.Contains(list, inv) {
		t.Error("a high-risk report listed under low")
	}
}

func TestInvestigateFromScriptFollowsTheRun(t *testing.T) {
	f := invSetup(t, true)
	release := make(chan struct{})
	f.llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: modelReport, Hold: release}
	})
	t.Cleanup(func() { close(release) })
	f.loopingSession(t, "loop-2")
	c := f.signIn(t)
	_, page := get(t, c, f.srv.URL+"/sessions/loop-2")
	code, _, body := postForm(t, c, f.srv.URL+"/sessions/loop-2/investigate", url.Values{"csrf": {csrfOf(t, page)}}, true)
	if code != http.StatusCreated {
		t.Fatalf("investigate: %d %s", code, body)
	}
	m := regexp.MustCompile(`data-watch="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the panel does not watch the investigation: %s", body)
	}
	mustContain(t, "panel", body, `data-fragment="/ui/fragments/reports/loop-2"`, "The report appears here when it ends", "disabled")
	// The fragment the script re-reads shows it running, then its report.
	f.waitFor(t, m[1], agentscope.StatusRunning)
	_, frag := get(t, c, f.srv.URL+"/ui/fragments/reports/loop-2")
	mustContain(t, "running fragment", frag, `data-status="running"`, `data-watch="`+m[1]+`"`)
}

// waitFor waits until a run reaches status.
func (f *invFixture) waitFor(t *testing.T, sid string, status agentscope.RunStatus) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		run, err := f.store.GetRun(context.Background(), "org-1", sid)
		if err == nil && run.Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s never %s: %+v %v", sid, status, run, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFailedReportShowsErrorAndDetectorFindings(t *testing.T) {
	f := invSetup(t, false)
	f.loopingSession(t, "loop-3")
	c := f.signIn(t)
	inv := f.investigateFromReplay(t, c, "loop-3")
	if run := f.waitEnded(t, inv); run.Status != agentscope.StatusFailed {
		t.Fatalf("investigation without a model: %s", run.Status)
	}
	for _, u := range []string{"/reports/" + inv, "/sessions/loop-3"} {
		_, body := get(t, c, f.srv.URL+u)
		mustContain(t, u, body, `data-report-status="failed"`, "report-error", "The investigation failed:", "no model is available",
			"There is no model analysis", "Deterministic findings", "these are not the model's analysis", `data-kind="loop"`, `href="/sessions/loop-3#ev-4"`)
		if strings.Contains(body, "Model analysis") {
			t.Errorf("%s: a failed report shows a model analysis", u)
		}
	}
}

func TestInvestigateNeedsCSRF(t *testing.T) {
	f := invSetup(t, true)
	f.loopingSession(t, "loop-4")
	c := f.signIn(t)
	for _, u := range []string{"/sessions/loop-4/investigate", "/agents/support-bot/investigate"} {
		code, _, _ := postForm(t, c, f.srv.URL+u, url.Values{"csrf": {"forged"}}, false)
		if code != http.StatusForbidden {
			t.Errorf("%s with a wrong CSRF token: %d, want 403", u, code)
		}
	}
	page, err := f.store.ListRuns(f.ctx, "org-1", agentscope.RunFilter{Agent: "investigator"})
	if err != nil || len(page.Runs) != 0 {
		t.Fatalf("investigations queued without CSRF: %v %v", page.Runs, err)
	}
}

func TestReportsOfAnotherOrganisationAreNotFound(t *testing.T) {
	f := invSetup(t, false)
	f.loopingSession(t, "loop-5")
	inv := f.investigateFromReplay(t, f.signIn(t), "loop-5")
	f.waitEnded(t, inv)

	other := f.signInAs(t, otherToken)
	for _, u := range []string{"/reports/" + inv, "/reports/loop-5", "/ui/fragments/reports/" + inv, "/ui/fragments/investigations/" + inv} {
		if code, body := get(t, other, f.srv.URL+u); code != http.StatusNotFound || strings.Contains(body, "lookup_order") {
			t.Errorf("%s from another organisation: %d", u, code)
		}
	}
	_, page := get(t, other, f.srv.URL+"/reports")
	if strings.Contains(page, inv) || !strings.Contains(page, "No reports yet") {
		t.Error("another organisation's report is listed")
	}
	_, page = get(t, other, f.srv.URL+"/agents")
	code, _, _ := postForm(t, other, f.srv.URL+"/sessions/loop-5/investigate", url.Values{"csrf": {csrfOf(t, page)}}, true)
	if code != http.StatusNotFound {
		t.Errorf("investigating another organisation's session: %d, want 404", code)
	}
}

func TestAgentsPageInvestigatesLatestRun(t *testing.T) {
	f := invSetup(t, false)
	f.loopingSession(t, "loop-6")
	c := f.signIn(t)
	_, page := get(t, c, f.srv.URL+"/agents")
	mustContain(t, "agents page", page,
		`action="/agents/support-bot/investigate"`, "Run Splunk Investigation", "of the latest run",
		"No runs to investigate yet.") // the starter agents have none
	code, _, body := postForm(t, c, f.srv.URL+"/agents/support-bot/investigate", url.Values{"csrf": {csrfOf(t, page)}}, true)
	if code != http.StatusCreated {
		t.Fatalf("investigate: %d %s", code, body)
	}
	m := regexp.MustCompile(`data-investigation="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no investigation in %s", body)
	}
	mustContain(t, "chip", body, `href="/sessions/loop-6"`, `data-fragment="/ui/fragments/investigations/`+m[1]+`"`)
	f.waitEnded(t, m[1])
	_, chip := get(t, c, f.srv.URL+"/ui/fragments/investigations/"+m[1])
	mustContain(t, "ended chip", chip, `data-status="failed"`, `href="/reports/`+m[1]+`"`)
	if strings.Contains(chip, "data-watch") {
		t.Error("an ended investigation is still watched")
	}

	// Without the script, the browser goes to the investigation's page.
	code, loc, _ := postForm(t, c, f.srv.URL+"/agents/support-bot/investigate", url.Values{"csrf": {csrfOf(t, page)}}, false)
	if code != http.StatusSeeOther || !reportLocation.MatchString(loc) {
		t.Fatalf("investigate without the script: %d %q", code, loc)
	}
	// An agent without runs is refused plainly.
	code, _, body = postForm(t, c, f.srv.URL+"/agents/research/investigate", url.Values{"csrf": {csrfOf(t, page)}}, true)
	if code != http.StatusBadRequest || !strings.Contains(body, "no runs to investigate") {
		t.Errorf("investigate an agent without runs: %d %s", code, body)
	}
}

func TestInvestigationsNotConfigured(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	f.startRun(t, "support-bot", "plain-1")
	c := f.signIn(t)
	const says = "Investigations are not configured on this server"
	for _, u := range []string{"/sessions/plain-1", "/reports/plain-1", "/reports", "/agents"} {
		code, body := get(t, c, f.srv.URL+u)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", u, code)
		}
		mustContain(t, u, body, says)
		if strings.Contains(body, "Deterministic findings") || strings.Contains(body, "data-investigate-form>") && u != "/agents" {
			t.Errorf("%s offers investigations", u)
		}
	}
	_, page := get(t, c, f.srv.URL+"/sessions/plain-1")
	code, _, body := postForm(t, c, f.srv.URL+"/sessions/plain-1/investigate", url.Values{"csrf": {csrfOf(t, page)}}, true)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not configured") {
		t.Errorf("investigate: %d %s", code, body)
	}
	if code, _ := get(t, c, f.srv.URL+"/reports/nope"); code != http.StatusNotFound {
		t.Errorf("report of an unknown session: %d", code)
	}
}
