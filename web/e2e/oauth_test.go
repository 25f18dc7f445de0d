package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/oauth"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// TestOAuthConsentInTheBrowser: a person signed in to the web UI approves
// an MCP host on the consent page in Chromium, and the browser is sent on
// to the host with a code: the page's form may go back to the host's
// origin (its Content-Security-Policy's form-action), which a browser
// enforces on the redirect after the form. The code is then exchanged.
func TestOAuthConsentInTheBrowser(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "o.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	defer rec.Close()
	as, err := oauth.New(st, oauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(service.New(rec, service.Options{}), web.Options{Tokens: map[string]string{token: org}, OAuth: as}))
	defer srv.Close()

	// The host's loopback callback, as a desktop MCP host listens.
	var (
		mu     sync.Mutex
		landed url.Values
	)
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r) // the browser's favicon.ico
			return
		}
		mu.Lock()
		landed = r.URL.Query()
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!DOCTYPE html><title>host</title><p id="done">You can close this window.</p>`))
	}))
	defer host.Close()
	redirect := host.URL + "/callback"
	client, err := st.CreateOAuthClient(ctx, agentscope.OAuthClient{Name: "Browser Host", RedirectURIs: []string{redirect}})
	if err != nil {
		t.Fatal(err)
	}
	verifier := strings.Repeat("b", 64)
	sum := sha256.Sum256([]byte(verifier))
	authorize := srv.URL + "/oauth/authorize?" + url.Values{"client_id": {client.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"xyz"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "scope": {"read run"}, "resource": {srv.URL + "/mcp"}}.Encode()

	b := newBrowser(t)
	b.signIn(srv.URL)
	b.do(chromedp.Navigate(authorize), chromedp.WaitVisible(chromedp.CSS("form.consent-form")))
	if h := b.text("h1"); h != "Connect Browser Host" {
		t.Errorf("consent heading %q", h)
	}
	if n := eval[int](b, `document.querySelectorAll('input[name="scope_grant"]:checked').length`); n != 2 {
		t.Errorf("%d scopes checked, want the two asked for", n)
	}
	b.screenshot("oauth-consent")
	// Grant read only, then allow.
	b.do(chromedp.Click(chromedp.CSS(`input[name="scope_grant"][value="run"]`)),
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS("#done")))
	mu.Lock()
	q := landed
	mu.Unlock()
	if q.Get("state") != "xyz" || !strings.HasPrefix(q.Get("code"), "asc_") || q.Get("iss") != srv.URL {
		t.Fatalf("the host received %v", q)
	}
	resp, err := http.PostForm(srv.URL+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "client_id": {client.ID},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "resource": {srv.URL + "/mcp"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Scope     string `json:"scope"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.Scope != "read" || tok.ExpiresIn <= 0 || tok.ExpiresIn > int((15*time.Minute)/time.Second) {
		t.Fatalf("token: %d %+v %v", resp.StatusCode, tok, err)
	}
}
