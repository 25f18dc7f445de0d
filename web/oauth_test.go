package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
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

	"github.com/oauth2-proxy/mockoidc"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/identity"
	"github.com/agentscope/agentscope/oauth"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/signin"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

const hostRedirect = "http://127.0.0.1:9/cb"

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)

// TestConsentForAPerson: a person signed in with OpenID Connect picks,
// on the consent page, among the organisations they belong to, each
// shown with their role and the scopes it may grant; a scope beyond the
// chosen organisation's role is refused, an organisation they are not in
// answers as missing, and the token they approve acts as them, with their
// role there.
func TestConsentForAPerson(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = op.Shutdown() }()
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	defer rec.Close()
	hs := httptest.NewUnstartedServer(nil)
	public := "http://" + hs.Listener.Addr().String()
	oc := op.Config()
	flows, err := signin.NewFlows(signin.Config{PublicURL: public, OIDC: signin.OIDCConfig{Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret}}, signin.FlowOptions{Key: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	as, err := oauth.New(st, oauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := identity.New(st, identity.Options{InstanceTokens: map[string]string{token: agentscope.DefaultOrgID}, AccessTokens: st})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = web.New(service.New(rec, service.Options{}), web.Options{Tokens: map[string]string{token: agentscope.DefaultOrgID}, Auth: authn, OAuth: as, LivePoll: time.Hour,
		UI: web.UIOptions{Accounts: signin.NewAccounts(st, signin.Options{PublicURL: public}), Flows: flows, Revocations: st}})
	hs.Start()
	defer hs.Close()

	// Ada signs in (her first sign-in gives her an organisation she owns)
	// and is a viewer of the default organisation.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == "127.0.0.1:9" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	op.QueueUser(&mockoidc.MockUser{Subject: "ada", Email: "ada@example.com", EmailVerified: true, PreferredUsername: "Ada"})
	if resp, err := c.Get(public + "/auth/oidc/start?next=%2F"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: %v %v", resp, err)
	}
	ada, err := st.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddMember(ctx, agentscope.DefaultOrgID, ada.ID, agentscope.RoleViewer, agentscope.ActorOperator); err != nil {
		t.Fatal(err)
	}
	orgs, _ := st.ListUserOrgs(ctx, ada.ID)
	var own string
	for _, o := range orgs {
		if o.ID != agentscope.DefaultOrgID {
			own = o.ID
		}
	}
	client, err := st.CreateOAuthClient(ctx, agentscope.OAuthClient{Name: "Claude", RedirectURIs: []string{hostRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	authorize := public + "/oauth/authorize?" + url.Values{"client_id": {client.ID}, "redirect_uri": {hostRedirect}, "response_type": {"code"}, "state": {"st"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "scope": {"ingest read"}}.Encode()

	resp, err := c.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Connect Claude", `value="` + own + `"`, "— owner (may grant ingest, read, run, admin)", `value="default"`, "— viewer (may grant read)", `value="ingest"`, `value="read"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the consent page lacks %q:\n%s", want, page)
		}
	}
	decide := func(org string, scopes ...string) *http.Response {
		t.Helper()
		form := url.Values{"decision": {"approve"}, "org": {org}, "scope_grant": scopes}
		for _, m := range hiddenField.FindAllStringSubmatch(string(page), -1) {
			form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
		}
		resp, err := c.PostForm(public+"/oauth/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Header.Set("X-Body", string(b))
		return resp
	}
	if resp := decide(agentscope.DefaultOrgID, "ingest", "read"); resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("X-Body"), "your viewer role cannot grant the ingest scope") {
		t.Errorf("ingest as a viewer: %d %s", resp.StatusCode, resp.Header.Get("X-Body"))
	}
	if resp := decide("org-not-adas", "read"); resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" {
		t.Errorf("an organisation ada is not in: %d", resp.StatusCode)
	}
	resp = decide(agentscope.DefaultOrgID, "read")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("approve read in the default organisation: %d %q", resp.StatusCode, loc)
	}
	tr, err := http.PostForm(public+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "client_id": {client.ID},
		"redirect_uri": {hostRedirect}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	err = json.NewDecoder(tr.Body).Decode(&tok)
	tr.Body.Close()
	if err != nil || tr.StatusCode != http.StatusOK || tok.Scope != "read" {
		t.Fatalf("token: %d %+v %v", tr.StatusCode, tok, err)
	}
	p, err := authn.AuthenticateResource(ctx, tok.AccessToken, public+"/mcp")
	if err != nil || p.Kind != agentscope.PrincipalOAuth || p.OrgID != agentscope.DefaultOrgID || p.UserID != ada.ID || p.Role != agentscope.RoleViewer {
		t.Fatalf("the token signs in as %+v, %v", p, err)
	}
	if p.Allows(agentscope.ActionSearch) || !p.Allows(agentscope.ActionRead) {
		t.Error("a viewer's read token: search must be refused, read allowed")
	}
}

// TestConnectionsPage: an administrator sees the MCP hosts connected to
// the organisation and revokes one; another organisation's grant is not
// found from here.
func TestConnectionsPage(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"), sqlstore.Options{})
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
	hs := httptest.NewServer(web.New(service.New(rec, service.Options{OAuthGrants: st}), web.Options{Tokens: map[string]string{token: agentscope.DefaultOrgID}, OAuth: as, LivePoll: time.Hour}))
	defer hs.Close()
	other, err := st.CreateOrg(ctx, "other", agentscope.ActorOperator)
	if err != nil {
		t.Fatal(err)
	}
	client, err := st.CreateOAuthClient(ctx, agentscope.OAuthClient{Name: "Claude", RedirectURIs: []string{hostRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	grant := func(org string) agentscope.OAuthGrant {
		_, code, err := st.CreateOAuthCode(ctx, agentscope.OAuthCode{
			Grant:       agentscope.OAuthGrant{OrgID: org, ClientID: client.ID, Actor: "instance", Role: agentscope.RoleOwner, Scopes: []agentscope.Scope{agentscope.ScopeRead, agentscope.ScopeRun}, Resource: hs.URL + "/mcp"},
			RedirectURI: hostRedirect, CodeChallenge: "c", ExpiresAt: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := st.ExchangeOAuthCode(ctx, code.Reveal(), time.Minute, time.Hour, func(agentscope.OAuthCode) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		return tok.Grant
	}
	mine, theirs := grant(agentscope.DefaultOrgID), grant(other.ID)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := c.PostForm(hs.URL+"/login", url.Values{"token": {token}}); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %v %v", resp, err)
	}
	status, page := get(t, c, hs.URL+"/connections")
	mustContain(t, "connections page", page, "Connected MCP hosts", "Claude", "instance", "read, run", "/connections/"+mine.ID+"/revoke", `href="/connections"`)
	if status != http.StatusOK || strings.Contains(page, theirs.ID) {
		t.Fatalf("connections page: %d, shows another organisation's grant: %v", status, strings.Contains(page, theirs.ID))
	}
	csrf := csrfOf(t, page)
	revoke := func(id string, form url.Values) *http.Response {
		resp, err := c.PostForm(hs.URL+"/connections/"+id+"/revoke", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := revoke(mine.ID, url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("revoke without CSRF: %d", resp.StatusCode)
	}
	if resp := revoke(theirs.ID, url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoke another organisation's grant: %d", resp.StatusCode)
	}
	if resp := revoke(mine.ID, url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connections" {
		t.Fatalf("revoke: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	grants, _ := st.ListOAuthGrants(ctx, agentscope.DefaultOrgID)
	if len(grants) != 1 || grants[0].RevokedAt == nil {
		t.Fatalf("after revoking: %+v", grants)
	}
	if g, _ := st.ListOAuthGrants(ctx, other.ID); len(g) != 1 || g[0].RevokedAt != nil {
		t.Fatal("another organisation's grant was revoked")
	}
	_, page = get(t, c, hs.URL+"/connections")
	mustContain(t, "connections page after revoking", page, `<span class="badge">revoked</span>`)
}
