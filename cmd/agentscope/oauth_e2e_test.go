package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
)

// oauthRedirect is the MCP host's redirect URI: a loopback address, as a
// host on the person's machine listens at. Nothing listens there; the
// test reads the code from the consent form's redirect.
const oauthRedirect = "http://127.0.0.1:33418/callback"

// browser is a person's browser signed in to the web UI with the instance
// token: it follows no redirect, so the consent's redirect to the host
// can be read.
func browser(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/login", url.Values{"token": {"test-token-0123456789"}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(jar.Cookies(resp.Request.URL)) == 0 {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	return c
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)

// consent opens the authorization URL in the browser, checks the consent
// page, submits it with the decision and scopes, and returns the
// redirect's query (code, state, iss, or error).
func consent(t *testing.T, c *http.Client, authURL, decision string, scopes ...string) url.Values {
	t.Helper()
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %d %s", resp.StatusCode, page)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' http://127.0.0.1:33418") {
		t.Errorf("the consent page's CSP does not let its form go back to the host: %s", csp)
	}
	for _, want := range []string{"go-sdk e2e", "ingest", "read", "run", "admin", `name="org"`, `value="default"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the consent page does not show %q", want)
		}
	}
	form := url.Values{"decision": {decision}, "org": {"default"}, "scope_grant": scopes}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if form.Get("csrf") == "" {
		t.Fatal("the consent form has no CSRF token")
	}
	resp, err = c.PostForm(strings.SplitN(authURL, "?", 2)[0], form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, oauthRedirect+"?") {
		t.Fatalf("consent: %d to %q: %s", resp.StatusCode, loc, body)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

// oauthHost is an MCP host with the go-sdk's OAuth client: it registers
// itself, sends the person to the consent page and exchanges the code; it
// keeps the oauth2 configuration and first token for the test.
type oauthHost struct {
	handler *auth.AuthorizationCodeHandler
	mu      sync.Mutex
	cfg     *oauth2.Config
	token   *oauth2.Token
}

func newOAuthHost(t *testing.T, c *http.Client, scopes ...string) *oauthHost {
	t.Helper()
	h := &oauthHost{}
	var err error
	h.handler, err = auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "go-sdk e2e", RedirectURIs: []string{oauthRedirect}, GrantTypes: []string{"authorization_code", "refresh_token"},
		}},
		RedirectURL: oauthRedirect,
		AuthorizationCodeFetcher: func(_ context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			q := consent(t, c, args.URL, "approve", scopes...)
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
		NewTokenSource: func(ctx context.Context, cfg *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
			h.mu.Lock()
			h.cfg, h.token = cfg, tok
			h.mu.Unlock()
			return cfg.TokenSource(ctx, tok), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// connect opens an MCP session over /mcp, authorizing on the first 401.
func (h *oauthHost) connect(t *testing.T, base string) *mcp.ClientSession {
	t.Helper()
	tr := &mcp.StreamableClientTransport{Endpoint: base + "/mcp", OAuthHandler: h.handler}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "go-sdk e2e"}, nil).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect with OAuth: %v", err)
	}
	return cs
}

// refresh uses a refresh token at the token endpoint.
func (h *oauthHost) refresh(refreshToken string) (*oauth2.Token, error) {
	h.mu.Lock()
	cfg := h.cfg
	h.mu.Unlock()
	return cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
}

// callTool calls a tool and returns its text, or an error for an isError
// result.
func callTool(cs *mcp.ClientSession, name string, args any) (string, error) {
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if res.IsError {
		return "", errors.New(text)
	}
	return text, nil
}

// TestMCPOAuthEndToEnd: an MCP host with the go-sdk's OAuth client
// connects to serve's /mcp as the MCP authorization specification
// describes: the 401's resource metadata, the authorization server's
// metadata, dynamic registration, the consent page in the signed-in web
// UI, the code exchange with PKCE, a tool call with the access token,
// refresh with rotation (reusing a rotated refresh token revokes the
// family) and revocation. The token is bound to its organisation: the
// default organisation's token finds another organisation's session as
// missing, and to /mcp: the HTTP API refuses it.
func TestMCPOAuthEndToEnd(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			vars := varsOf(t, st)
			other := decodeJSON[struct{ ID string }](t, cli(t, vars, "orgs", "create", "beta", "--json")).ID
			otherKey := decodeJSON[createdKey](t, cli(t, vars, "keys", "create", "--org", other, "--name", "beta-ci", "--scopes", "ingest,read", "--json")).Key
			otherAdmin := decodeJSON[createdKey](t, cli(t, vars, "keys", "create", "--org", other, "--name", "beta-admin", "--scopes", "admin", "--json")).Key
			base, stop := serveInProcess(t, envOf(vars))
			defer stop()

			// The other organisation records a session.
			if code, _, body := call(t, "POST", base+"/api/v1/runs", otherKey, `{"agent":"beta-bot","session_id":"beta-secret"}`); code != http.StatusCreated {
				t.Fatalf("beta's run: %d %s", code, body)
			}

			// /mcp's 401 names the resource metadata, which names AgentScope
			// as the authorization server.
			code, challenge, _ := call(t, "POST", base+"/mcp", "", `{}`)
			if code != http.StatusUnauthorized || !strings.Contains(challenge, `resource_metadata="`+base+`/.well-known/oauth-protected-resource/mcp"`) {
				t.Fatalf("/mcp without a token: %d %q", code, challenge)
			}
			var prm oauthex.ProtectedResourceMetadata
			if code := api(t, "GET", base+"/.well-known/oauth-protected-resource/mcp", "", &prm); code != http.StatusOK || prm.Resource != base+"/mcp" || len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != base {
				t.Fatalf("protected resource metadata: %d %+v", code, prm)
			}

			c := browser(t, base)
			host := newOAuthHost(t, c, "ingest", "read")
			cs := host.connect(t, base)
			defer cs.Close()
			if _, err := callTool(cs, "start_run", map[string]any{"agent": "oauth-bot", "session_id": "alpha-1"}); err != nil {
				t.Fatalf("start_run with the OAuth token: %v", err)
			}
			if out, err := callTool(cs, "replay_session", map[string]any{"session_id": "alpha-1"}); err != nil || !strings.Contains(out, "oauth-bot") {
				t.Fatalf("replay_session of its own session: %q %v", out, err)
			}
			// Another organisation's session answers as a missing one.
			_, err := callTool(cs, "replay_session", map[string]any{"session_id": "beta-secret"})
			if err == nil || !strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "beta-bot") {
				t.Fatalf("replay_session of beta's session with the default organisation's token: %v", err)
			}
			// A scope the person did not grant is refused by name.
			if _, err := callTool(cs, "set_budget", map[string]any{"agent": "oauth-bot", "period": "day", "limit_usd": 1}); err == nil || !strings.Contains(err.Error(), "admin scope") {
				t.Errorf("set_budget without the admin scope: %v", err)
			}

			host.mu.Lock()
			first := host.token
			host.mu.Unlock()
			if got := first.Extra("scope"); got != "ingest read" {
				t.Errorf("granted scope %v, want ingest read", got)
			}
			// The access token is bound to /mcp: the HTTP API refuses it,
			// saying what it is and what the API takes, never repeating it.
			const wantRefusal = `this is an MCP host's OAuth access token, valid only at /mcp; this endpoint takes an API key (agentscope keys create) or the instance token`
			if code, _, body := call(t, "GET", base+"/api/v1/runs", first.AccessToken, ""); code != http.StatusUnauthorized || !strings.Contains(body, wantRefusal) || strings.Contains(body, first.AccessToken) {
				t.Errorf("the OAuth token on the HTTP API: %d %s", code, body)
			}

			// Refresh rotates; the new access token works on /mcp.
			second, err := host.refresh(first.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
				t.Fatal("refresh did not rotate")
			}
			cs2 := httpSession(t, base, second.AccessToken)
			if _, err := callTool(cs2, "list_runs", map[string]any{}); err != nil {
				t.Fatalf("list_runs with the refreshed token: %v", err)
			}
			cs2.Close()
			// Reusing the rotated refresh token revokes the family: the
			// newest access token stops working too.
			if _, err := host.refresh(first.RefreshToken); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("reusing a rotated refresh token: %v", err)
			}
			if code, challenge, _ := call(t, "POST", base+"/mcp", second.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"ping"}`); code != http.StatusUnauthorized || !strings.Contains(challenge, "resource_metadata=") {
				t.Fatalf("the family's newest access token after reuse: %d %q", code, challenge)
			}

			// A fresh authorization, then revocation (RFC 7009) of its
			// refresh token ends its access token.
			host2 := newOAuthHost(t, c, "read")
			cs3 := host2.connect(t, base)
			cs3.Close()
			host2.mu.Lock()
			tok := host2.token
			host2.mu.Unlock()
			if code, _, body := call(t, "POST", base+"/mcp", tok.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"ping"}`); code == http.StatusUnauthorized {
				t.Fatalf("the second grant's token: %d %s", code, body)
			}
			resp, err := http.PostForm(base+"/oauth/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			if code, _, _ := call(t, "POST", base+"/mcp", tok.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"ping"}`); code != http.StatusUnauthorized {
				t.Fatalf("a revoked grant's access token: %d", code)
			}

			// An administrator lists the organisation's grants and revokes
			// one; another organisation sees none of them and finds them
			// missing.
			host3 := newOAuthHost(t, c, "read")
			host3.connect(t, base).Close()
			host3.mu.Lock()
			third := host3.token
			host3.mu.Unlock()
			var grants struct {
				Grants []struct {
					ID        string   `json:"id"`
					OrgID     string   `json:"org_id"`
					Scopes    []string `json:"scopes"`
					RevokedAt *string  `json:"revoked_at"`
				} `json:"grants"`
			}
			code, _, body := call(t, "GET", base+"/api/v1/oauth/grants", "test-token-0123456789", "")
			if err := json.Unmarshal([]byte(body), &grants); code != http.StatusOK || err != nil || len(grants.Grants) != 3 {
				t.Fatalf("GET /api/v1/oauth/grants: %d %s", code, body)
			}
			live := grants.Grants[2]
			if live.RevokedAt != nil || live.OrgID != "default" || strings.Join(live.Scopes, ",") != "read" || grants.Grants[0].RevokedAt == nil || grants.Grants[1].RevokedAt == nil {
				t.Fatalf("grants: %s", body)
			}
			if code, _, body := call(t, "GET", base+"/api/v1/oauth/grants", otherAdmin, ""); code != http.StatusOK || strings.Contains(body, live.ID) {
				t.Errorf("beta's admin lists grants: %d %s", code, body)
			}
			if code, _, body := call(t, "DELETE", base+"/api/v1/oauth/grants/"+live.ID, otherAdmin, ""); code != http.StatusNotFound {
				t.Errorf("beta's admin revokes the default organisation's grant: %d %s", code, body)
			}
			if code, _, body := call(t, "GET", base+"/api/v1/oauth/grants", otherKey, ""); code != http.StatusForbidden {
				t.Errorf("a read key lists grants: %d %s", code, body)
			}
			if code, _, _ := call(t, "POST", base+"/mcp", third.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"ping"}`); code == http.StatusUnauthorized {
				t.Fatal("beta's refused revocation ended the grant")
			}
			if code, _, body := call(t, "DELETE", base+"/api/v1/oauth/grants/"+live.ID, "test-token-0123456789", ""); code != http.StatusOK {
				t.Fatalf("revoke the grant: %d %s", code, body)
			}
			if code, _, _ := call(t, "POST", base+"/mcp", third.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"ping"}`); code != http.StatusUnauthorized {
				t.Fatalf("a grant revoked by the administrator: %d", code)
			}
		})
	}
}

// TestConsentRefusals: the consent page refuses what a person may not
// grant and what a host may not ask: an organisation the session cannot
// act in answers as missing, a denial goes back as access_denied, and an
// unregistered redirect URI is never redirected to.
func TestConsentRefusals(t *testing.T) {
	st := stores()[0]
	vars := varsOf(t, st)
	base, stop := serveInProcess(t, envOf(vars))
	defer stop()
	c := browser(t, base)

	var reg struct {
		ClientID string `json:"client_id"`
		Method   string `json:"token_endpoint_auth_method"`
	}
	if code := api(t, "POST", base+"/oauth/register", `{"client_name":"go-sdk e2e","redirect_uris":["`+oauthRedirect+`"],"token_endpoint_auth_method":"client_secret_basic"}`, &reg); code != http.StatusCreated || reg.ClientID == "" || reg.Method != "none" {
		t.Fatalf("register: %d %+v", code, reg)
	}
	var bad struct{ Error string }
	if code := api(t, "POST", base+"/oauth/register", `{"redirect_uris":["http://evil.example/cb"]}`, &bad); code != http.StatusBadRequest || bad.Error != "invalid_redirect_uri" {
		t.Errorf("register a plain-http redirect: %d %+v", code, bad)
	}
	authURL := func(redirect string) string {
		return base + "/oauth/authorize?" + url.Values{"client_id": {reg.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s1"},
			"code_challenge": {strings.Repeat("A", 43)}, "code_challenge_method": {"S256"}, "resource": {base + "/mcp"}, "scope": {"read"}}.Encode()
	}
	if q := consent(t, c, authURL(oauthRedirect), "deny", "read"); q.Get("error") != "access_denied" || q.Get("state") != "s1" || q.Get("code") != "" {
		t.Errorf("deny: %v", q)
	}
	resp, err := c.Get(authURL("https://evil.example/cb"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(string(body), "redirect_uri") {
		t.Errorf("an unregistered redirect URI: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A plain challenge method goes back to the host as invalid_request.
	u := strings.Replace(authURL(oauthRedirect), "code_challenge_method=S256", "code_challenge_method=plain", 1)
	resp, err = c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "error=invalid_request") {
		t.Errorf("plain PKCE: %d %q", resp.StatusCode, loc)
	}
	// Another organisation is not the session's to grant.
	resp, err = c.Get(authURL(oauthRedirect))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"decision": {"approve"}, "org": {"org-someone-else"}, "scope_grant": {"read"}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	resp, err = c.PostForm(base+"/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" {
		t.Errorf("approving for another organisation: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Without the CSRF token the decision is refused.
	form.Del("csrf")
	form.Set("org", "default")
	resp, err = c.PostForm(base+"/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("consent without CSRF: %d", resp.StatusCode)
	}
}
