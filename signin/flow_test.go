package signin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/signin"
	"github.com/agentscope/agentscope/signin/signintest"
)

// app is a minimal web app over Flows: /start/{id} begins a sign-in and
// /auth/{id}/callback answers the identity as JSON, or the error.
func app(t *testing.T, cfg func(publicURL string) signin.Config) (*httptest.Server, *signin.Flows) {
	t.Helper()
	var flows *signin.Flows
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start/{id}", func(w http.ResponseWriter, r *http.Request) {
		u, c, err := flows.Begin(r.Context(), r.PathValue("id"), "/after", false)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.SetCookie(w, c)
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET /auth/{id}/callback", func(w http.ResponseWriter, r *http.Request) {
		who, next, clear, err := flows.Finish(r.Context(), r.PathValue("id"), r)
		http.SetCookie(w, clear)
		if err != nil {
			http.Error(w, agentscope.ErrorCode(err)+": "+err.Error(), http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"email": who.Email, "name": who.Name, "provider": who.Provider, "next": next})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var err error
	if flows, err = signin.NewFlows(cfg(srv.URL), signin.FlowOptions{Key: []byte("test key")}); err != nil {
		t.Fatal(err)
	}
	return srv, flows
}

func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// get follows redirects and returns the final status and body.
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

// stopAt returns the Location of the first redirect to a URL starting with
// prefix, having followed those before it.
func stopAt(t *testing.T, c *http.Client, u, prefix string) *url.URL {
	t.Helper()
	cc := *c
	var found *url.URL
	cc.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), prefix) {
			found = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := cc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if found == nil {
		t.Fatalf("no redirect to %s from %s", prefix, u)
	}
	return found
}

func startOIDC(t *testing.T) *mockoidc.MockOIDC { return signintest.StartOIDC(t, false) }

func oidcConfig(m *mockoidc.MockOIDC) func(string) signin.Config {
	return func(public string) signin.Config {
		c := m.Config()
		return signin.Config{PublicURL: public, OIDC: signin.OIDCConfig{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret}}
	}
}

func TestOIDCSignIn(t *testing.T) {
	m := startOIDC(t)
	srv, flows := app(t, oidcConfig(m))
	if ps := flows.Providers(); len(ps) != 1 || ps[0].ID != signin.ProviderOIDC {
		t.Fatalf("providers = %+v", ps)
	}
	m.QueueUser(&mockoidc.MockUser{Subject: "ada-1", Email: "Ada@Example.com", EmailVerified: true, PreferredUsername: "ada"})
	c := browser(t)
	// The authorization request carries PKCE (S256), a state and a nonce.
	auth := stopAt(t, c, srv.URL+"/start/oidc", m.Issuer())
	q := auth.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" {
		t.Fatalf("authorization request %s lacks PKCE, state or nonce", auth)
	}
	status, body := get(t, c, auth.String())
	if status != http.StatusOK || !strings.Contains(body, `"email":"ada@example.com"`) || !strings.Contains(body, `"next":"/after"`) || !strings.Contains(body, `"name":"ada"`) {
		t.Fatalf("callback = %d %s", status, body)
	}
	// The flow cookie was cleared: the same callback again is refused.
	m.QueueUser(&mockoidc.MockUser{Subject: "ada-1", Email: "ada@example.com", EmailVerified: true})
	cb := stopAt(t, c, srv.URL+"/start/oidc", srv.URL+"/auth/")
	if status, _ := get(t, c, cb.String()); status != http.StatusOK {
		t.Fatalf("second sign-in = %d", status)
	}
	if status, body := get(t, c, cb.String()); status != http.StatusUnauthorized || !strings.Contains(body, "not started in this browser") {
		t.Fatalf("replayed callback = %d %s", status, body)
	}
}

func TestOIDCStateMismatchRefused(t *testing.T) {
	m := startOIDC(t)
	srv, _ := app(t, oidcConfig(m))
	c := browser(t)
	cb := stopAt(t, c, srv.URL+"/start/oidc", srv.URL+"/auth/")
	for name, tc := range map[string]struct {
		client *http.Client
		change func(url.Values)
	}{
		"other state":        {c, func(q url.Values) { q.Set("state", "forged") }},
		"no state":           {c, func(q url.Values) { q.Del("state") }},
		"other browser":      {browser(t), func(url.Values) {}},
		"provider error":     {c, func(q url.Values) { q.Set("error", "access_denied"); q.Del("code") }},
		"code of other flow": {c, func(q url.Values) { q.Set("code", "not-a-code") }},
	} {
		t.Run(name, func(t *testing.T) {
			u := *cb
			q := u.Query()
			tc.change(q)
			u.RawQuery = q.Encode()
			if status, body := get(t, tc.client, u.String()); status != http.StatusUnauthorized || !strings.Contains(body, "unauthorized") {
				t.Fatalf("callback = %d %s", status, body)
			}
		})
	}
}

// TestOIDCNonceMismatchRefused: an ID token minted for another nonce (the
// provider is made to see a different one) is refused after the code is
// exchanged.
func TestOIDCNonceMismatchRefused(t *testing.T) {
	m := signintest.StartOIDC(t, true)
	srv, _ := app(t, oidcConfig(m))
	status, body := get(t, browser(t), srv.URL+"/start/oidc")
	if status != http.StatusUnauthorized || !strings.Contains(body, "nonce") {
		t.Fatalf("callback = %d %s", status, body)
	}
}

func TestOIDCUnverifiedEmailRefused(t *testing.T) {
	m := startOIDC(t)
	srv, _ := app(t, oidcConfig(m))
	m.QueueUser(&mockoidc.MockUser{Subject: "eve", Email: "eve@example.com", EmailVerified: false})
	status, body := get(t, browser(t), srv.URL+"/start/oidc")
	if status != http.StatusUnauthorized || !strings.Contains(body, "not verified") {
		t.Fatalf("callback = %d %s", status, body)
	}
}

// fakeOAuth is a plain OAuth 2.0 provider like GitHub's or Discord's: it
// checks the PKCE verifier and answers its user API for the token it gave.
func fakeOAuth(t *testing.T, user map[string]any) *httptest.Server {
	t.Helper()
	var challenge string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" {
			http.Error(w, "PKCE required", http.StatusBadRequest)
			return
		}
		challenge = q.Get("code_challenge")
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {"the-code"}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("code") != "the-code" || challenge == "" || mockoidcChallenge(r.PostForm.Get("code_verifier")) != challenge {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok","token_type":"bearer"}`))
	})
	api := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer tok" {
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	mux.HandleFunc("GET /api/user", api(user["user"]))
	mux.HandleFunc("GET /api/user/emails", api(user["emails"]))
	mux.HandleFunc("GET /api/users/@me", api(user["me"]))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func mockoidcChallenge(verifier string) string {
	c, _ := mockoidc.GenerateCodeChallenge("S256", verifier)
	return c
}

func TestOAuthPresets(t *testing.T) {
	for _, tc := range []struct {
		name, id string
		user     map[string]any
		set      func(*signin.Config, signin.OAuthConfig)
		want     string
	}{
		{"GitHub", signin.ProviderGitHub, map[string]any{
			"user":   map[string]any{"login": "grace", "name": "Grace Hopper"},
			"emails": []map[string]any{{"email": "old@example.com", "primary": false, "verified": true}, {"email": "Grace@Example.com", "primary": true, "verified": true}},
		}, func(c *signin.Config, o signin.OAuthConfig) { c.GitHub = o }, `"email":"grace@example.com","name":"Grace Hopper"`},
		{"GitHub unverified", signin.ProviderGitHub, map[string]any{
			"user":   map[string]any{"login": "grace"},
			"emails": []map[string]any{{"email": "grace@example.com", "primary": true, "verified": false}},
		}, func(c *signin.Config, o signin.OAuthConfig) { c.GitHub = o }, "no verified primary email"},
		{"Discord", signin.ProviderDiscord, map[string]any{
			"me": map[string]any{"username": "lin", "global_name": "Lin", "email": "lin@example.com", "verified": true},
		}, func(c *signin.Config, o signin.OAuthConfig) { c.Discord = o }, `"email":"lin@example.com","name":"Lin"`},
		{"Discord unverified", signin.ProviderDiscord, map[string]any{
			"me": map[string]any{"username": "lin", "email": "lin@example.com", "verified": false},
		}, func(c *signin.Config, o signin.OAuthConfig) { c.Discord = o }, "no verified email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fakeOAuth(t, tc.user)
			srv, _ := app(t, func(public string) signin.Config {
				c := signin.Config{PublicURL: public}
				tc.set(&c, signin.OAuthConfig{ClientID: "id", ClientSecret: "secret", AuthURL: p.URL + "/authorize", TokenURL: p.URL + "/token", APIURL: p.URL + "/api"})
				return c
			})
			if _, body := get(t, browser(t), srv.URL+"/start/"+tc.id); !strings.Contains(body, tc.want) {
				t.Fatalf("callback = %s, want %s", body, tc.want)
			}
		})
	}
}

func TestUnknownProvider(t *testing.T) {
	srv, _ := app(t, func(public string) signin.Config { return signin.Config{PublicURL: public} })
	if status, _ := get(t, browser(t), srv.URL+"/start/oidc"); status != http.StatusBadRequest {
		t.Fatalf("start of an unconfigured provider = %d", status)
	}
}
