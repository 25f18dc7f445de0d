// Package e2e_test drives the web interface in a real browser: Debian's
// Chromium, through chromedp, against the real server (web.New over a
// SQLite store and the recorder) on a loopback port. The tests skip when
// Chromium is missing, unless AGENTSCOPE_TEST_BROWSER=required; .ci/setup-browser
// installs it. Screenshots go to $AGENTSCOPE_TEST_ARTIFACTS, or testartifacts/
// at the module root.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
	"github.com/agentscope/agentscope/web/internal/launchertest"
)

const (
	token = "e2e-token-0123456789"
	org   = agentscope.DefaultOrgID
	// waitLimit bounds every wait for the page; a test never sleeps.
	waitLimit = 15 * time.Second
)

// chromium returns the browser to drive, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("AGENTSCOPE_CHROMIUM"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("AGENTSCOPE_TEST_BROWSER") == "required" {
		t.Fatal("Chromium is required (AGENTSCOPE_TEST_BROWSER=required) but /usr/bin/chromium is missing: run .ci/setup-browser")
	}
	t.Skip("browser tests skipped: /usr/bin/chromium is missing (run .ci/setup-browser, or set AGENTSCOPE_CHROMIUM)")
	return ""
}

// app is AgentScope's web server with its parts, on a loopback port.
type app struct {
	url      string
	svc      *service.Service
	store    agentscope.Store
	launcher *launchertest.Launcher
	ctx      context.Context // carries the organisation
}

func startApp(t *testing.T, ui web.UIOptions) *app {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "e2e.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	l := launchertest.New(rec)
	svc := service.New(rec, service.Options{Launcher: l, Audit: st})
	svc.Search.Searcher = ui.Searcher // the search page searches through the service
	srv := startServer(t, svc, ui)
	t.Cleanup(func() {
		srv.Close()
		rec.Close()
		st.Close()
	})
	return &app{url: srv.URL, svc: svc, store: st, launcher: l, ctx: agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal(org))}
}

// startServer serves the web interface over svc on a loopback port.
func startServer(t *testing.T, svc *service.Service, ui web.UIOptions) *httptest.Server {
	t.Helper()
	return httptest.NewServer(web.New(svc, web.Options{Tokens: map[string]string{token: org}, UI: ui}))
}

// api calls the JSON API with the bearer token, as an agent would.
func (a *app) api(t *testing.T, method, path, body string) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, a.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

// browser is one Chromium with a fresh profile; it fails the test on any
// uncaught exception in a page.
type browser struct {
	ctx context.Context
	t   *testing.T
	mu  sync.Mutex
	js  []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	b := &browser{ctx: ctx, t: t}
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.js {
			t.Errorf("uncaught exception in the page: %s", e)
		}
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start Chromium: %v", err)
	}
	exceptions := chromedp.Events(ctx, cdpruntime.ExceptionThrown)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.js = append(b.js, exceptionText(ev.ExceptionDetails))
			b.mu.Unlock()
		}
	}()
	return b
}

func exceptionText(d *cdpruntime.ExceptionDetails) string {
	if d == nil {
		return "?"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d)", s, d.URL, d.LineNumber)
}

// do runs actions, failing the test on error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// text returns an element's text.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript condition holds in the page.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(waitLimit)))
	if err != nil {
		b.t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// signIn signs in through the login form.
func (b *browser) signIn(base string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("nav.sections")),
	)
}

// markPage tags the current document, so a test can tell that an update
// came without a reload.
func (b *browser) markPage() {
	eval[chromedp.Void](b, `window.__e2eMark = 'kept'`)
}

func (b *browser) pageKept() bool {
	return eval[string](b, `window.__e2eMark || ''`) == "kept"
}

// theme switches prefers-color-scheme.
func (b *browser) theme(scheme string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		b.t.Fatalf("emulate %s theme: %v", scheme, err)
	}
}

// screenshot saves the whole page as a PNG test artifact.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	eval[chromedp.Void](b, `window.scrollTo(0, 0)`)
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := artifactsDir(b.t)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AGENTSCOPE_TEST_ARTIFACTS")
	if dir == "" {
		wd, _ := os.Getwd()
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "testartifacts")
				break
			}
			if filepath.Dir(d) == d {
				dir = filepath.Join(wd, "testartifacts")
				break
			}
		}
	}
	dir = filepath.Join(dir, "web-e2e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// recordEvents posts events to the JSON API.
func (a *app) recordEvents(t *testing.T, events ...map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	for _, ev := range events {
		b, _ := json.Marshal(ev)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	a.api(t, "POST", "/api/v1/events", buf.String())
}

// turn is one model turn with a tool call and its cost, as an agent
// reports them, starting at ts.
func turn(sid string, n int, ts time.Time, toolStatus string) []map[string]any {
	span := fmt.Sprintf("m%d", n)
	call := fmt.Sprintf("c%d", n)
	tool := map[string]any{"session_id": sid, "type": "ToolReturned", "tool": "search_docs", "call_id": call, "duration_ms": 180, "status": toolStatus, "ts": ts.Add(1100 * time.Millisecond)}
	if toolStatus == "error" {
		tool["error"] = "upstream timed out"
	}
	return []map[string]any{
		{"session_id": sid, "type": "ModelInvoked", "provider": "openai", "model": "gpt-4o", "span_id": span, "ts": ts},
		{"session_id": sid, "type": "ModelCompleted", "provider": "openai", "model": "gpt-4o", "span_id": span, "duration_ms": 900, "tokens_in": 1800, "tokens_out": 240, "finish_reason": "tool_calls", "ts": ts.Add(900 * time.Millisecond)},
		{"session_id": sid, "type": "CostRecorded", "span_id": span, "amount_usd": 0.0125, "model": "gpt-4o", "ts": ts.Add(900 * time.Millisecond)},
		{"session_id": sid, "type": "ToolCalled", "tool": "search_docs", "call_id": call, "parent_span_id": span, "arguments": map[string]any{"query": "refund policy"}, "ts": ts.Add(920 * time.Millisecond)},
		tool,
	}
}
