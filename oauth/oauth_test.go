package oauth_test

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
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/ratelimit"
	"github.com/agentscope/agentscope/oauth"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

type bundle struct {
	store  *sqlite.Store
	server *oauth.Server
	base   string
	client agentscope.OAuthClient
}

func setup(t testing.TB, opts oauth.Options) bundle {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "o.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv, err := oauth.New(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Route(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	c, err := s.CreateOAuthClient(context.Background(), agentscope.OAuthClient{Name: "host", RedirectURIs: []string{"http://127.0.0.1:9/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	return bundle{store: s, server: srv, base: hs.URL, client: c}
}

func getJSON(t *testing.T, u string, out any) *http.Response {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp
}

func TestMetadata(t *testing.T) {
	b := setup(t, oauth.Options{})
	var prm map[string]any
	resp := getJSON(t, b.base+"/.well-known/oauth-protected-resource/mcp", &prm)
	if prm["resource"] != b.base+"/mcp" || prm["authorization_servers"].([]any)[0] != b.base || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("resource metadata at /mcp: %v", prm)
	}
	getJSON(t, b.base+"/.well-known/oauth-protected-resource", &prm)
	if prm["resource"] != b.base {
		t.Errorf("resource metadata at the root names %v, want the server %s (RFC 9728 3.3)", prm["resource"], b.base)
	}
	var asm map[string]any
	getJSON(t, b.base+"/.well-known/oauth-authorization-server", &asm)
	for k, want := range map[string]any{
		"issuer": b.base, "authorization_endpoint": b.base + "/oauth/authorize", "token_endpoint": b.base + "/oauth/token",
		"registration_endpoint": b.base + "/oauth/register", "revocation_endpoint": b.base + "/oauth/revoke",
	} {
		if asm[k] != want {
			t.Errorf("%s = %v, want %v", k, asm[k], want)
		}
	}
	if m := asm["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
		t.Errorf("PKCE methods %v, want S256 only", m)
	}
	if _, ok := asm["jwks_uri"]; ok {
		t.Error("the metadata names a jwks_uri it does not have")
	}

	// A configured public URL wins over the request's host.
	b = setup(t, oauth.Options{Issuer: "https://Agentscope.Example/"})
	getJSON(t, b.base+"/.well-known/oauth-authorization-server", &asm)
	if asm["issuer"] != "https://agentscope.example" || asm["token_endpoint"] != "https://agentscope.example/oauth/token" {
		t.Errorf("with a public URL: %v", asm)
	}
	for _, bad := range []string{"agentscope.example", "ftp://x", "https://x/path", "https://x?q=1", "https://u@x"} {
		if _, err := oauth.New(nil, oauth.Options{Issuer: bad}); err == nil {
			t.Errorf("New accepted the issuer %q", bad)
		}
	}
}

func post(t *testing.T, u, contentType, body string) (int, map[string]any, http.Header) {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func TestRegister(t *testing.T) {
	b := setup(t, oauth.Options{})
	code, out, _ := post(t, b.base+"/oauth/register", "application/json", `{"client_name":"Claude","redirect_uris":["https://claude.ai/api/mcp/auth_callback","http://localhost:6274/cb"],"token_endpoint_auth_method":"client_secret_post","unknown":1}`)
	if code != http.StatusCreated || !strings.HasPrefix(out["client_id"].(string), "mcpc-") || out["token_endpoint_auth_method"] != "none" || out["client_secret"] != nil {
		t.Fatalf("register: %d %v", code, out)
	}
	c, err := b.store.GetOAuthClient(context.Background(), out["client_id"].(string))
	if err != nil || c.Name != "Claude" || len(c.RedirectURIs) != 2 {
		t.Fatalf("stored client %+v, %v", c, err)
	}
	for name, tc := range map[string]struct{ body, code string }{
		"not JSON":        {`redirect_uris=x`, "invalid_client_metadata"},
		"no redirect":     {`{"client_name":"x"}`, "invalid_redirect_uri"},
		"plain http":      {`{"redirect_uris":["http://app.example/cb"]}`, "invalid_redirect_uri"},
		"custom scheme":   {`{"redirect_uris":["myapp://cb"]}`, "invalid_redirect_uri"},
		"implicit":        {`{"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]}`, "invalid_client_metadata"},
		"token response":  {`{"redirect_uris":["https://a.example/cb"],"response_types":["token"]}`, "invalid_client_metadata"},
		"too large":       {`{"client_name":"` + strings.Repeat("x", 70<<10) + `"}`, "invalid_client_metadata"},
		"control in name": {`{"client_name":"a\u0000b","redirect_uris":["https://a.example/cb"]}`, "invalid_client_metadata"},
	} {
		code, out, _ := post(t, b.base+"/oauth/register", "application/json", tc.body)
		if code != http.StatusBadRequest || out["error"] != tc.code || out["error_description"] == "" {
			t.Errorf("%s: %d %v, want 400 %s", name, code, out, tc.code)
		}
	}
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestTokenEndpoint: the code exchange checks everything the
// authorization request fixed, and the refresh grant rotates.
func TestTokenEndpoint(t *testing.T) {
	b := setup(t, oauth.Options{AccessTTL: time.Minute})
	ctx := context.Background()
	verifier := strings.Repeat("v", 50)
	newCode := func() string {
		_, c, err := b.store.CreateOAuthCode(ctx, agentscope.OAuthCode{
			Grant:       agentscope.OAuthGrant{OrgID: agentscope.DefaultOrgID, ClientID: b.client.ID, Actor: "instance", Role: agentscope.RoleOwner, Scopes: []agentscope.Scope{agentscope.ScopeRead}, Resource: b.base + "/mcp"},
			RedirectURI: "http://127.0.0.1:9/cb", CodeChallenge: challengeOf(verifier), ExpiresAt: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return c.Reveal()
	}
	code := newCode()
	good := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {b.client.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {verifier}, "resource": {b.base + "/mcp"}}
	for name, tc := range map[string]struct {
		edit func(url.Values)
		code string
	}{
		"no grant type":    {func(v url.Values) { v.Del("grant_type") }, "invalid_request"},
		"password grant":   {func(v url.Values) { v.Set("grant_type", "password") }, "unsupported_grant_type"},
		"no client":        {func(v url.Values) { v.Del("client_id") }, "invalid_client"},
		"other client":     {func(v url.Values) { v.Set("client_id", "mcpc-other") }, "invalid_grant"},
		"other redirect":   {func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:9/other") }, "invalid_grant"},
		"wrong verifier":   {func(v url.Values) { v.Set("code_verifier", strings.Repeat("w", 50)) }, "invalid_grant"},
		"short verifier":   {func(v url.Values) { v.Set("code_verifier", "abc") }, "invalid_request"},
		"other resource":   {func(v url.Values) { v.Set("resource", "https://elsewhere.example/mcp") }, "invalid_target"},
		"unknown code":     {func(v url.Values) { v.Set("code", "asc_000000000000_"+strings.Repeat("0", 64)) }, "invalid_grant"},
		"code twice given": {func(v url.Values) { v.Add("code", code) }, "invalid_request"},
	} {
		v := url.Values{}
		for k, vs := range good {
			v[k] = append([]string(nil), vs...)
		}
		tc.edit(v)
		status, out, _ := post(t, b.base+"/oauth/token", "application/x-www-form-urlencoded", v.Encode())
		if status/100 != 4 || out["error"] != tc.code {
			t.Errorf("%s: %d %v, want %s", name, status, out, tc.code)
		}
	}
	// The refusals left the code usable.
	status, out, hdr := post(t, b.base+"/oauth/token", "application/x-www-form-urlencoded", good.Encode())
	if status != http.StatusOK || out["token_type"] != "Bearer" || out["scope"] != "read" || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("exchange: %d %v", status, out)
	}
	if n := out["expires_in"].(float64); n < 55 || n > 60 {
		t.Errorf("expires_in %v, want the minute configured", n)
	}
	access, refresh := out["access_token"].(string), out["refresh_token"].(string)
	if !strings.HasPrefix(access, "asa_") || !strings.HasPrefix(refresh, "asr_") {
		t.Fatalf("tokens %q %q", access[:4], refresh[:4])
	}
	status, out, _ = post(t, b.base+"/oauth/token", "application/x-www-form-urlencoded", good.Encode())
	if status != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Errorf("replayed code: %d %v", status, out)
	}

	// Refresh of the (now revoked, by the replay) grant is refused; a
	// fresh grant refreshes, and the root resource names /mcp too.
	rv := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {b.client.ID}}
	if status, out, _ := post(t, b.base+"/oauth/token", "application/x-www-form-urlencoded", rv.Encode()); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Errorf("refresh of a grant revoked by a replayed code: %d %v", status, out)
	}
	good.Set("code", newCode())
	good.Set("resource", b.base)
	_, out, _ = post(t, b.base+"/oauth/token", "application/x-www-form-urlencoded", good.Encode())
	rv.Set("refresh_token", out["refresh_token"].(string))
	status, out, _ = post(t, b.base+"/oauth/token", "application/x-www-form-urlencoded", rv.Encode())
	if status != http.StatusOK || out["refresh_token"] == rv.Get("refresh_token") {
		t.Fatalf("refresh: %d %v", status, out)
	}
	a, err := b.store.OAuthAccessToken(ctx, strings.Split(out["access_token"].(string), "_")[1])
	if err != nil || a.Grant.Resource != b.base+"/mcp" {
		t.Errorf("the refreshed token is bound to %q, %v", a.Grant.Resource, err)
	}

	// Revocation answers 200 for any token, and needs one.
	for _, tok := range []string{out["refresh_token"].(string), "garbage"} {
		if status, _, _ := post(t, b.base+"/oauth/revoke", "application/x-www-form-urlencoded", url.Values{"token": {tok}}.Encode()); status != http.StatusOK {
			t.Errorf("revoke %.4s: %d", tok, status)
		}
	}
	if status, out, _ := post(t, b.base+"/oauth/revoke", "application/x-www-form-urlencoded", ""); status != http.StatusBadRequest || out["error"] != "invalid_request" {
		t.Errorf("revoke without a token: %d %v", status, out)
	}
}

// TestRegisterLimit: registrations from one address are limited, and the
// refusal says when to come back.
func TestRegisterLimit(t *testing.T) {
	b := setup(t, oauth.Options{RegisterLimit: ratelimit.Limit{Rate: 1.0 / 3600, Burst: 2}})
	body := `{"redirect_uris":["https://a.example/cb"]}`
	for i := range 2 {
		if code, out, _ := post(t, b.base+"/oauth/register", "application/json", body); code != http.StatusCreated {
			t.Fatalf("registration %d: %d %v", i, code, out)
		}
	}
	code, out, hdr := post(t, b.base+"/oauth/register", "application/json", body)
	if code != http.StatusTooManyRequests || out["error"] != "rate_limited" || hdr.Get("Retry-After") == "" {
		t.Errorf("third registration: %d %v %q", code, out, hdr.Get("Retry-After"))
	}
}
