package e2e_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/identity"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// startKeysApp is startApp with API keys: the service keeps them in the
// store and the server authenticates them, as serve wires it.
func startKeysApp(t *testing.T) string {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "e2e.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	svc := service.New(rec, service.Options{Keys: st})
	instance := map[string]string{token: org}
	authn, err := identity.New(st, identity.Options{InstanceTokens: instance})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(svc, web.Options{Tokens: instance, Auth: authn}))
	t.Cleanup(func() {
		srv.Close()
		rec.Close()
		st.Close()
	})
	return srv.URL
}

// status calls the API with a bearer credential and returns the status.
func status(t *testing.T, url, credential string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+credential)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAPIKeysPage: in the browser, a person makes a key with chosen
// scopes, sees it once with a Copy button, the key works on the API and
// its last use shows; the page never shows it again; a refused form says
// what is wrong; Revoke stops the key.
func TestAPIKeysPage(t *testing.T) {
	base := startKeysApp(t)
	b := newBrowser(t)
	b.signIn(base)
	b.do(chromedp.Click(chromedp.CSS(`nav.sections a[href="/keys"]`)), chromedp.WaitVisible(chromedp.CSS("#key-form")))
	if !strings.Contains(b.text("main"), "No keys yet") {
		t.Fatalf("empty keys page: %q", b.text("main"))
	}

	// No scope ticked: refused, naming the field, the name kept.
	b.do(chromedp.SendKeys(chromedp.CSS("#key-name"), "ci-pipeline"), chromedp.Submit(chromedp.CSS("#key-form")),
		chromedp.WaitVisible(chromedp.CSS("#key-form .form-msg")))
	b.waitFor("the form's error", `document.querySelector('#key-form .form-msg').textContent.includes('scopes')`)
	if v := eval[string](b, `document.querySelector('#key-name').value`); v != "ci-pipeline" {
		t.Errorf("the refused form lost its name: %q", v)
	}

	b.do(chromedp.Click(chromedp.CSS(`input[name=scopes][value=ingest]`)), chromedp.Click(chromedp.CSS(`input[name=scopes][value=read]`)),
		chromedp.Submit(chromedp.CSS("#key-form")), chromedp.WaitVisible(chromedp.CSS("#new-key")))
	key := b.text("#new-key")
	if _, err := agentscope.ParseCredential(key); err != nil || !strings.HasPrefix(key, "ask_") {
		t.Fatalf("shown key %q: %v", key, err)
	}
	b.waitFor("the Copy button", `!document.querySelector('[data-copy="#new-key"]').hidden`)
	b.do(chromedp.Click(chromedp.CSS(`[data-copy="#new-key"]`)))
	b.waitFor("copied", `document.querySelector('[data-copy="#new-key"]').textContent === 'Copied'`)
	b.screenshot("api-key-created")
	row := `#keys tr[data-state=active]`
	if got := b.text(row + " td:nth-child(3)"); got != "ingest,read" {
		t.Errorf("scopes listed: %q", got)
	}
	if got := b.text(row + " .last-used"); got != "never" {
		t.Errorf("a fresh key's last use: %q", got)
	}

	if code := status(t, base+"/api/v1/runs", key); code != http.StatusOK {
		t.Fatalf("the new key on the API: %d", code)
	}
	b.do(chromedp.Navigate(base+"/keys"), chromedp.WaitVisible(chromedp.CSS("#keys")))
	if strings.Contains(b.text("body"), key) || eval[bool](b, `!!document.querySelector('#new-key')`) {
		t.Fatal("the key is shown again")
	}
	if got := b.text(row + " .last-used"); got == "never" || got == "" {
		t.Errorf("last use after a call: %q", got)
	}
	b.screenshot("api-keys")

	b.do(chromedp.Click(chromedp.CSS(row+" [data-revoke]")), chromedp.WaitVisible(chromedp.CSS(`#keys tr[data-state=revoked]`)))
	if code := status(t, base+"/api/v1/runs", key); code != http.StatusUnauthorized {
		t.Errorf("a revoked key on the API: %d", code)
	}
	if eval[bool](b, `!!document.querySelector('#keys tr[data-state=revoked] [data-revoke]')`) {
		t.Error("a revoked key still has a Revoke button")
	}
}
