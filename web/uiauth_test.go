package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web"
)

func TestSignIn(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	c := f.browser(t)

	// A bad token is refused, with the form shown again.
	resp, err := c.PostForm(f.srv.URL+"/login", url.Values{"token": {"wrong-token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("bad token: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}

	// A good token sets an HttpOnly, SameSite session cookie and goes back
	// to where the browser was headed, but never off-site.
	for next, want := range map[string]string{"/sessions?agent=a": "/sessions?agent=a", "//evil.example/x": "/", "https://evil.example": "/", "": "/"} {
		resp, err := f.browser(t).PostForm(f.srv.URL+"/login", url.Values{"token": {token}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("next %q: %d to %q, want %q", next, resp.StatusCode, resp.Header.Get("Location"), want)
		}
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "agentscope_session" {
				cookie = ck
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.MaxAge <= 0 {
			t.Fatalf("session cookie: %+v", cookie)
		}
		if strings.Contains(cookie.Value, token) {
			t.Fatal("the cookie carries the token")
		}
	}
}

func TestPagesNeedSignIn(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	f.startRun(t, "bot", "s1")
	c := f.browser(t)
	for _, p := range []string{"/", "/agents", "/sessions", "/sessions/s1", "/search?q=x"} {
		resp, err := c.Get(f.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape(p) {
			t.Errorf("%s without a session: %d to %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The script's endpoints answer 401 rather than redirecting.
	for _, p := range []string{"/ui/fragments/runs/s1", "/ui/fragments/sessions/s1/timeline", "/ui/api/sessions/s1/events"} {
		if code, _ := get(t, c, f.srv.URL+p); code != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d", p, code)
		}
	}
	// A forged or tampered cookie is no session.
	u, _ := url.Parse(f.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "agentscope_session", Value: "eyJpZCI6IngiLCJvcmciOiJvcmctMSJ9.AAAA"}})
	if code, _ := get(t, c, f.srv.URL+"/agents"); code != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", code)
	}
	// The login page and the assets are public.
	if code, body := get(t, c, f.srv.URL+"/login"); code != http.StatusOK || !strings.Contains(body, `name="token"`) {
		t.Errorf("login page: %d", code)
	}
	if code, _ := get(t, c, f.srv.URL+"/ui/static/app.css"); code != http.StatusOK {
		t.Errorf("stylesheet: %d", code)
	}
}

func TestLogout(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	c := f.signIn(t)
	_, page := get(t, c, f.srv.URL+"/agents")
	u, _ := url.Parse(f.srv.URL)
	stolen := c.Jar.Cookies(u)

	resp, err := c.PostForm(f.srv.URL+"/logout", url.Values{"csrf": {csrfOf(t, page)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _ := get(t, c, f.srv.URL+"/agents"); code != http.StatusSeeOther {
		t.Errorf("after logout: %d", code)
	}
	// A copy of the cookie kept from before is signed out too.
	other := f.browser(t)
	other.Jar.SetCookies(u, stolen)
	if code, _ := get(t, other, f.srv.URL+"/agents"); code != http.StatusSeeOther {
		t.Errorf("revoked cookie still works: %d", code)
	}
}

func TestCSRF(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	c := f.signIn(t)
	_, page := get(t, c, f.srv.URL+"/agents")
	good := csrfOf(t, page)
	cases := []struct {
		name, path string
		form       url.Values
		header     http.Header
		want       int
	}{
		{"no token", "/logout", url.Values{}, nil, http.StatusForbidden},
		{"wrong token", "/logout", url.Values{"csrf": {good[:len(good)-2] + "xx"}}, nil, http.StatusForbidden},
		{"another session's token", "/agents/bot/runs", url.Values{"csrf": {otherCSRF(t, f)}}, nil, http.StatusForbidden},
		{"run form without token", "/agents/bot/runs", url.Values{"input": {"hi"}}, nil, http.StatusForbidden},
		{"cross-site", "/logout", url.Values{"csrf": {good}}, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"good token", "/logout", url.Values{"csrf": {good}}, nil, http.StatusSeeOther},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("POST", f.srv.URL+tc.path, strings.NewReader(tc.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range tc.header {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

func otherCSRF(t *testing.T, f *uiFixture) string {
	t.Helper()
	_, page := get(t, f.signIn(t), f.srv.URL+"/agents")
	return csrfOf(t, page)
}

// TestUIWebsocketOrigin: the cookie-authenticated websockets admit only
// pages of this host: another Origin, or none, is refused.
func TestUIWebsocketOrigin(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	f.startRun(t, "bot", "s1")
	c := f.signIn(t)
	u, _ := url.Parse(f.srv.URL)
	cookie := c.Jar.Cookies(u)[0]
	ws := "ws" + strings.TrimPrefix(f.srv.URL, "http")
	for _, path := range []string{"/ui/live/org", "/ui/live/sessions/s1"} {
		for origin, want := range map[string]int{"https://evil.example": http.StatusForbidden, "": http.StatusForbidden, f.srv.URL: http.StatusSwitchingProtocols} {
			h := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}
			if origin != "" {
				h.Set("Origin", origin)
			}
			conn, resp, err := websocket.DefaultDialer.Dial(ws+path, h)
			if conn != nil {
				conn.Close()
			}
			if resp == nil || resp.StatusCode != want {
				t.Errorf("%s with Origin %q: %v %v, want %d", path, origin, resp, err, want)
			}
		}
		// Without a session the upgrade is refused.
		if _, resp, _ := websocket.DefaultDialer.Dial(ws+path, http.Header{"Origin": {f.srv.URL}}); resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a session: %v", path, resp)
		}
	}
}

// TestLogoutOutlivesRestart, on both stores: signing out is recorded in
// the store, so a copy of the cookie is refused by a new server over the
// same database (a restart, or another process); a session revoked in the
// store directly, without signing out, is refused too, by a server that
// had already accepted it; a session neither signed out nor revoked is
// still accepted.
func TestLogoutOutlivesRestart(t *testing.T) {
	for name, open := range bothStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			serve := func() *httptest.Server {
				rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
				t.Cleanup(func() { rec.Close() })
				srv := httptest.NewServer(web.New(service.New(rec, service.Options{}), web.Options{Tokens: map[string]string{token: "org-1"}, LivePoll: time.Hour,
					UI: web.UIOptions{Revocations: st}}))
				t.Cleanup(srv.Close)
				return srv
			}
			first := serve()
			f := &uiFixture{srv: first}
			out, revoked, stays := f.signIn(t), f.signIn(t), f.signIn(t)
			_, page := get(t, out, first.URL+"/agents")
			if code, _ := get(t, revoked, first.URL+"/agents"); code != http.StatusOK {
				t.Fatalf("before revocation: %d", code)
			}
			u, _ := url.Parse(first.URL)
			cookies := map[string][]*http.Cookie{"signed out": out.Jar.Cookies(u), "revoked": revoked.Jar.Cookies(u), "still signed in": stays.Jar.Cookies(u)}
			resp, err := out.PostForm(first.URL+"/logout", url.Values{"csrf": {csrfOf(t, page)}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id, exp := sessionOf(t, cookies["revoked"])
			if err := st.RevokeSession(context.Background(), id, exp); err != nil {
				t.Fatal(err)
			}
			if code, _ := get(t, revoked, first.URL+"/agents"); code != http.StatusSeeOther {
				t.Errorf("revoked in the store, same server: %d, want a redirect to sign in", code)
			}

			second := serve() // a fresh process: nothing in memory
			u2, _ := url.Parse(second.URL)
			for name, want := range map[string]int{"signed out": http.StatusSeeOther, "revoked": http.StatusSeeOther, "still signed in": http.StatusOK} {
				b := f.browser(t)
				b.Jar.SetCookies(u2, cookies[name])
				if code, _ := get(t, b, second.URL+"/agents"); code != want {
					t.Errorf("%s, on a new server: %d, want %d", name, code, want)
				}
			}
		})
	}
}

// sessionOf reads the session id and expiry a session cookie carries
// (base64url JSON, then its signature).
func sessionOf(t *testing.T, cookies []*http.Cookie) (string, time.Time) {
	t.Helper()
	for _, c := range cookies {
		if c.Name != "agentscope_session" {
			continue
		}
		payload, _, _ := strings.Cut(c.Value, ".")
		raw, err := base64.RawURLEncoding.DecodeString(payload)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			ID  string `json:"id"`
			Exp int64  `json:"exp"`
		}
		if err := json.Unmarshal(raw, &s); err != nil || s.ID == "" {
			t.Fatalf("session cookie %q: %v", raw, err)
		}
		return s.ID, time.Unix(s.Exp, 0)
	}
	t.Fatal("no session cookie")
	return "", time.Time{}
}

// TestSecureCookie: the session cookie is Secure with the operator setting
// (a proxy terminates TLS) and over HTTPS, and not otherwise.
func TestSecureCookie(t *testing.T) {
	for name, c := range map[string]struct {
		secure, tls bool
	}{"plain": {}, "setting": {secure: true}, "https": {tls: true}} {
		f := uiSetup(t, web.UIOptions{SecureCookies: c.secure})
		if c.tls {
			srv := httptest.NewTLSServer(f.srv.Config.Handler)
			t.Cleanup(srv.Close)
			f.srv = srv
		}
		client := f.srv.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := client.PostForm(f.srv.URL+"/login", url.Values{"token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		sc := resp.Header.Get("Set-Cookie")
		if want := c.secure || c.tls; strings.Contains(sc, "; Secure") != want || !strings.Contains(sc, "HttpOnly") {
			t.Errorf("%s: Set-Cookie %q, want Secure=%v", name, sc, want)
		}
	}
}
