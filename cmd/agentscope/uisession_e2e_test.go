package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// uiBrowser is a browser of serve's web UI that keeps its session cookie
// itself: a cookie jar would not send a Secure cookie over plain HTTP.
type uiBrowser struct {
	t      *testing.T
	cookie string // name=value of the session cookie
}

func (b *uiBrowser) do(method, u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.cookie != "" {
		req.Header.Set("Cookie", b.cookie)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // redirects are not followed
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signIn posts the token to /login and keeps the session cookie; it
// returns the cookie's Set-Cookie line.
func (b *uiBrowser) signIn(base string) string {
	b.t.Helper()
	resp, _ := b.do(http.MethodPost, base+"/login", url.Values{"token": {"test-token-0123456789"}})
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		b.t.Fatalf("sign in: %d, cookies %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	c := resp.Cookies()[0]
	b.cookie = c.Name + "=" + c.Value
	return resp.Header.Get("Set-Cookie")
}

// agents opens the agents page and returns its status and CSRF token.
func (b *uiBrowser) agents(base string) (int, string) {
	b.t.Helper()
	resp, body := b.do(http.MethodGet, base+"/agents", nil)
	m := csrfField.FindStringSubmatch(body)
	if resp.StatusCode == http.StatusOK && m == nil {
		b.t.Fatal("the agents page has no CSRF token")
	}
	if m == nil {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, m[1]
}

// TestUISessionsEndToEnd, through agentscope serve on both stores: with
// AGENTSCOPE_COOKIE_SECURE=true the session cookie is Secure on plain HTTP
// (and without it, not); a session signed out stays signed out after the
// process restarts, while another session of the same token survives the
// restart; a bad value of the setting stops serve naming it.
func TestUISessionsEndToEnd(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			env := st.env(t)
			base, stop := serveInProcess(t, append(env, "AGENTSCOPE_COOKIE_SECURE=true"))
			out, stays := &uiBrowser{t: t}, &uiBrowser{t: t}
			if sc := out.signIn(base); !strings.Contains(sc, "; Secure") || !strings.Contains(sc, "; HttpOnly") {
				t.Errorf("with AGENTSCOPE_COOKIE_SECURE=true: Set-Cookie %q, want Secure and HttpOnly", sc)
			}
			stays.signIn(base)
			code, csrf := out.agents(base)
			if code != http.StatusOK {
				t.Fatalf("signed in: agents page %d", code)
			}
			if resp, _ := out.do(http.MethodPost, base+"/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
				t.Fatalf("sign out: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			stop()

			base, stop = serveInProcess(t, env) // a restart, now without the setting
			defer stop()
			if code, _ := out.agents(base); code != http.StatusSeeOther {
				t.Errorf("signed-out cookie after a restart: %d, want a redirect to sign in", code)
			}
			if code, _ := stays.agents(base); code != http.StatusOK {
				t.Errorf("a session that did not sign out, after a restart: %d, want 200", code)
			}
			if sc := (&uiBrowser{t: t}).signIn(base); strings.Contains(sc, "Secure") {
				t.Errorf("without AGENTSCOPE_COOKIE_SECURE over HTTP: Set-Cookie %q, want no Secure", sc)
			}
		})
	}
	var stderr strings.Builder
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir(), "AGENTSCOPE_ADDR": "127.0.0.1:0", "AGENTSCOPE_COOKIE_SECURE": "yes"}
	e := &Env{Stdout: io.Discard, Stderr: &syncWriter{w: &stderr}, Getenv: func(k string) string { return vars[k] }}
	if code := e.Run(context.Background(), []string{"serve"}); code == 0 || !strings.Contains(stderr.String(), `AGENTSCOPE_COOKIE_SECURE must be true or false`) {
		t.Errorf("AGENTSCOPE_COOKIE_SECURE=yes: exit %d, %q", code, stderr.String())
	}
}
