package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// uiFixture is a server with the web interface over a real SQLite store.
type uiFixture struct {
	srv   *httptest.Server
	svc   *service.Service
	rec   *recorder.Recorder
	store agentscope.Store
	ctx   context.Context // carries org-1
	opts  web.Options
}

func uiSetup(t *testing.T, ui web.UIOptions) *uiFixture {
	t.Helper()
	return uiSetupWith(t, func(o *web.Options) { o.UI = ui })
}

// uiSetupWith is uiSetup with the server's options adjusted by edit.
func uiSetupWith(t *testing.T, edit func(*web.Options)) *uiFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ui.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	svc := service.New(rec, service.Options{})
	opts := web.Options{Tokens: map[string]string{token: "org-1"}, LivePoll: time.Hour}
	edit(&opts)
	// The search page searches through the service, as serve wires it
	// with the same searcher.
	svc.Search.Searcher = opts.UI.Searcher
	h := web.New(svc, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		rec.Close()
		st.Close()
	})
	return &uiFixture{srv: srv, svc: svc, rec: rec, store: st, ctx: agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-1")), opts: opts}
}

// withLauncher serves the fixture's recorder and store again, with the same
// options, through a service that launches managed runs with l, as a
// process with a runtime does. A browser signed in to f stays signed in:
// the same tokens sign the sessions.
func (f *uiFixture) withLauncher(t *testing.T, l service.Launcher) *uiFixture {
	t.Helper()
	g := *f
	g.svc = service.New(f.rec, service.Options{Launcher: l})
	g.svc.Search = f.svc.Search
	g.srv = httptest.NewServer(web.New(g.svc, f.opts))
	t.Cleanup(g.srv.Close)
	return &g
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
func (f *uiFixture) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn returns a signed-in browser.
func (f *uiFixture) signIn(t *testing.T) *http.Client {
	t.Helper()
	c := f.browser(t)
	resp, err := c.PostForm(f.srv.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	return c
}

// get fetches a page and returns its status and body.
func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfPattern = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

// csrfOf reads the CSRF token a page carries.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfPattern.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("page has no csrf-token meta")
	}
	return m[1]
}

// mustContain fails unless body contains every want.
func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q", what, w)
		}
	}
}

// startRun starts a self-reported run.
func (f *uiFixture) startRun(t *testing.T, agent, sid string) {
	t.Helper()
	if _, err := f.svc.StartRun(f.ctx, service.StartRunInput{Agent: agent, SessionID: sid}); err != nil {
		t.Fatal(err)
	}
}

// recordJSON records raw events into a session.
func (f *uiFixture) recordJSON(t *testing.T, sid string, events ...string) {
	t.Helper()
	raws := make([]json.RawMessage, len(events))
	for i, e := range events {
		raws[i] = json.RawMessage(e)
	}
	res, err := f.svc.Record(f.ctx, sid, raws)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.Accepted {
			t.Fatalf("record %s: %s", sid, r.Error)
		}
	}
}

// recordTurn records one model turn that calls a tool, with its cost.
func (f *uiFixture) recordTurn(t *testing.T, sid string, n int, toolErr bool) {
	t.Helper()
	status := "ok"
	if toolErr {
		status = "error"
	}
	f.recordJSON(t, sid,
		fmt.Sprintf(`{"type":"ModelInvoked","provider":"openai","model":"gpt-4o","span_id":"m%d"}`, n),
		fmt.Sprintf(`{"type":"ModelCompleted","provider":"openai","model":"gpt-4o","span_id":"m%d","duration_ms":%d,"tokens_in":1200,"tokens_out":300}`, n, 400+n*100),
		fmt.Sprintf(`{"type":"CostRecorded","amount_usd":0.0125,"span_id":"m%d","model":"gpt-4o"}`, n),
		fmt.Sprintf(`{"type":"ToolCalled","tool":"search_docs","call_id":"c%d","parent_span_id":"m%d","arguments":{"q":"refund policy"}}`, n, n),
		fmt.Sprintf(`{"type":"ToolReturned","tool":"search_docs","call_id":"c%d","duration_ms":120,"status":%q}`, n, status),
	)
}
