package web_test

import (
	"context"
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
	"github.com/agentscope/agentscope/internal/mailpittest"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/signin"
	"github.com/agentscope/agentscope/signin/signintest"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// peopleFixture is the web server with people signing in: a real OpenID
// provider (mockoidc), a real SMTP server (Mailpit) and a SQLite store.
type peopleFixture struct {
	srv   *httptest.Server
	store *sqlite.Store
	oidc  *mockoidc.MockOIDC
	mail  *mailpittest.Server
}

func peopleSetup(t *testing.T, limits signin.Options) *peopleFixture {
	t.Helper()
	f := &peopleFixture{mail: mailpittest.Start(t)}
	f.oidc = signintest.StartOIDC(t, false)
	var err error
	if f.store, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "people.db"), sqlstore.Options{}); err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(f.store, recorder.Options{Hub: recorder.NewMemHub()})
	svc := service.New(rec, service.Options{Orgs: f.store})
	f.srv = httptest.NewUnstartedServer(nil)
	public := "http://" + f.srv.Listener.Addr().String()
	oc := f.oidc.Config()
	smtp, err := signin.ParseSMTPURL(f.mail.SMTPURL)
	if err != nil {
		t.Fatal(err)
	}
	smtp.From = "scope@example.com"
	cfg := signin.Config{PublicURL: public, OIDC: signin.OIDCConfig{Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret}, SMTP: smtp}
	flows, err := signin.NewFlows(cfg, signin.FlowOptions{Key: []byte("flow key")})
	if err != nil {
		t.Fatal(err)
	}
	limits.Mailer, limits.PublicURL = signin.NewSMTPMailer(smtp), public
	accounts := signin.NewAccounts(f.store, limits)
	f.srv.Config.Handler = web.New(svc, web.Options{Tokens: map[string]string{token: agentscope.DefaultOrgID}, LivePoll: time.Hour,
		UI: web.UIOptions{Accounts: accounts, Flows: flows, Revocations: f.store}})
	f.srv.Start()
	t.Cleanup(func() {
		f.srv.Close()
		rec.Close()
		f.store.Close()
	})
	if _, err := f.store.GetOrg(context.Background(), agentscope.DefaultOrgID); err != nil {
		t.Fatalf("default organisation: %v", err)
	}
	return f
}

// person is a browser that follows redirects, also to the provider.
func person(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

var linkPattern = regexp.MustCompile(`http://[^/\s]+(/[a-z/]+)\?token=(as[li]_[0-9a-f_]+)`)

// mailedLink returns the path and token of the link in the newest mail to
// address.
func (f *peopleFixture) mailedLink(t *testing.T, address string, seen int) (string, string) {
	t.Helper()
	m := linkPattern.FindStringSubmatch(f.mail.Latest(t, address, seen).Text)
	if m == nil {
		t.Fatalf("no link in the mail to %s", address)
	}
	return m[1], m[2]
}

func submit(t *testing.T, c *http.Client, u string, v url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func api(t *testing.T, method, u, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOIDCFirstSignInOpensTheUI(t *testing.T) {
	f := peopleSetup(t, signin.Options{})
	c := person(t)
	status, page := get(t, c, f.srv.URL+"/login")
	mustContain(t, "sign-in page", page, `href="/auth/oidc/start?next=%2F"`, "Continue with single sign-on", `action="/auth/email"`, `action="/login"`)
	if status != http.StatusOK {
		t.Fatalf("login page %d", status)
	}
	f.oidc.QueueUser(&mockoidc.MockUser{Subject: "ada", Email: "ada@example.com", EmailVerified: true, PreferredUsername: "Ada"})
	status, page = get(t, c, f.srv.URL+"/auth/oidc/start?next=%2Fmembers")
	if status != http.StatusOK || !strings.Contains(page, "<h1>Members</h1>") {
		t.Fatalf("after sign-in: %d\n%s", status, page)
	}
	mustContain(t, "members page", page, "ada@example.com", "Ada&#39;s organisation", `<span class="badge">you</span>`)
	u, err := f.store.UserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	orgs, _ := f.store.ListUserOrgs(context.Background(), u.ID)
	if len(orgs) != 1 || orgs[0].Role != agentscope.RoleOwner {
		t.Fatalf("ada's organisations = %+v", orgs)
	}
	// A callback in a browser that did not start the sign-in is refused.
	if status, page := get(t, person(t), f.srv.URL+"/auth/oidc/callback?state=x&code=y"); status != http.StatusUnauthorized || !strings.Contains(page, "not started in this browser") {
		t.Fatalf("foreign callback: %d", status)
	}
}

func TestEmailLinkSignIn(t *testing.T) {
	f := peopleSetup(t, signin.Options{SignInLimit: signin.AddressLimit{Every: time.Hour, Burst: 2}})
	c := person(t)
	status, page := submit(t, c, f.srv.URL+"/auth/email", url.Values{"email": {"bea@example.com"}})
	if status != http.StatusOK || !strings.Contains(page, "A sign-in link is on its way") {
		t.Fatalf("link request: %d %s", status, page)
	}
	path, tok := f.mailedLink(t, "bea@example.com", 0)
	// Following the link only asks to confirm: it can be opened twice.
	for range 2 {
		status, page = get(t, c, f.srv.URL+path+"?token="+tok)
		if status != http.StatusOK || !strings.Contains(page, "Sign in to AgentScope as bea@example.com") {
			t.Fatalf("confirm page: %d %s", status, page)
		}
	}
	status, page = submit(t, c, f.srv.URL+path, url.Values{"token": {tok}})
	if status != http.StatusOK || !strings.Contains(page, "bea@example.com") || strings.Contains(page, `action="/login"`) {
		t.Fatalf("after confirming: %d", status)
	}
	// Used: refused, on the page and on the form.
	if status, page := get(t, person(t), f.srv.URL+path+"?token="+tok); status != http.StatusUnauthorized || !strings.Contains(page, "used already") {
		t.Fatalf("reused link page: %d", status)
	}
	if status, page := submit(t, person(t), f.srv.URL+path, url.Values{"token": {tok}}); status != http.StatusUnauthorized || !strings.Contains(page, "used already") {
		t.Fatalf("reused link: %d", status)
	}
	// Expired: refused.
	if status, _ := submit(t, c, f.srv.URL+"/auth/email", url.Values{"email": {"bea@example.com"}}); status != http.StatusOK {
		t.Fatalf("second link: %d", status)
	}
	_, late := f.mailedLink(t, "bea@example.com", 1)
	if _, err := f.store.WriteDB().Exec(`UPDATE email_tokens SET expires_at = expires_at - 3600000000`); err != nil {
		t.Fatal(err)
	}
	if status, page := submit(t, person(t), f.srv.URL+path, url.Values{"token": {late}}); status != http.StatusUnauthorized || !strings.Contains(page, "expired") {
		t.Fatalf("expired link: %d", status)
	}
	// The third link to the address within the hour is refused with 429.
	resp, err := c.PostForm(f.srv.URL+"/auth/email", url.Values{"email": {"BEA@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third link: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestInvitationMembersAndSwitcher(t *testing.T) {
	f := peopleSetup(t, signin.Options{InvitationLimit: signin.AddressLimit{Every: time.Hour, Burst: 2}})
	ctx := context.Background()
	// The instance token's holder, the default organisation's owner,
	// invites over the API.
	status, body := api(t, "POST", f.srv.URL+"/api/v1/invitations", `{"email":"Cy@Example.com","role":"admin"}`)
	if status != http.StatusCreated || !strings.Contains(body, `"email":"cy@example.com"`) {
		t.Fatalf("invite: %d %s", status, body)
	}
	if status, body := api(t, "POST", f.srv.URL+"/api/v1/invitations", `{"email":"x@example.com","role":"boss"}`); status != http.StatusBadRequest || !strings.Contains(body, `"field":"role"`) {
		t.Fatalf("bad role: %d %s", status, body)
	}
	if status, body := api(t, "GET", f.srv.URL+"/api/v1/invitations", ""); status != http.StatusOK || !strings.Contains(body, "cy@example.com") {
		t.Fatalf("list invitations: %d %s", status, body)
	}
	path, tok := f.mailedLink(t, "cy@example.com", 0)
	cy := person(t)
	status, page := get(t, cy, f.srv.URL+path+"?token="+tok)
	if status != http.StatusOK || !strings.Contains(page, "as admin") {
		t.Fatalf("invitation page: %d %s", status, page)
	}
	status, page = submit(t, cy, f.srv.URL+path, url.Values{"token": {tok}})
	if status != http.StatusOK {
		t.Fatalf("accept: %d %s", status, page)
	}
	u, err := f.store.UserByEmail(ctx, "cy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := f.store.GetMembership(ctx, agentscope.DefaultOrgID, u.ID); err != nil || m.Role != agentscope.RoleAdmin {
		t.Fatalf("membership = %+v, %v", m, err)
	}
	if status, _ := submit(t, person(t), f.srv.URL+path, url.Values{"token": {tok}}); status != http.StatusUnauthorized {
		t.Fatalf("reused invitation: %d", status)
	}
	// Cy is in two organisations now: the switcher shows both.
	status, page = get(t, cy, f.srv.URL+"/members")
	if status != http.StatusOK {
		t.Fatalf("members page: %d", status)
	}
	mustContain(t, "members page", page, `id="org-switch"`, "cy@example.com", `action="/members/invite"`)
	csrf := csrfOf(t, page)
	orgs, _ := f.store.ListUserOrgs(ctx, u.ID)
	var personal string
	for _, o := range orgs {
		if o.ID != agentscope.DefaultOrgID {
			personal = o.ID
		}
	}
	noFollow := *cy
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if status, _ := submit(t, &noFollow, f.srv.URL+"/orgs/switch", url.Values{"csrf": {csrf}, "org_id": {"org-not-mine"}}); status != http.StatusNotFound {
		t.Fatalf("switch to another's organisation: %d", status)
	}
	if status, _ := submit(t, &noFollow, f.srv.URL+"/orgs/switch", url.Values{"csrf": {csrf}, "org_id": {personal}}); status != http.StatusSeeOther {
		t.Fatalf("switch: %d", status)
	}
	_, page = get(t, cy, f.srv.URL+"/members")
	if !strings.Contains(page, `value="`+personal+`" selected`) || !strings.Contains(page, `<span class="badge">owner</span>`) && !strings.Contains(page, `value="owner" selected`) {
		t.Fatalf("after switching, the page is not of cy's own organisation:\n%s", page)
	}
	_, page = get(t, cy, f.srv.URL+"/members")
	csrf = csrfOf(t, page)
	if status, _ := submit(t, &noFollow, f.srv.URL+"/orgs/switch", url.Values{"csrf": {csrf}, "org_id": {agentscope.DefaultOrgID}}); status != http.StatusSeeOther {
		t.Fatalf("switch back: %d", status)
	}

	// The API lists, changes and removes members.
	if status, body := api(t, "GET", f.srv.URL+"/api/v1/members", ""); status != http.StatusOK || !strings.Contains(body, `"role":"admin"`) {
		t.Fatalf("members: %d %s", status, body)
	}
	if status, body := api(t, "PATCH", f.srv.URL+"/api/v1/members/"+u.ID, `{"role":"viewer"}`); status != http.StatusOK || !strings.Contains(body, `"role":"viewer"`) {
		t.Fatalf("set role: %d %s", status, body)
	}
	// A viewer sees the members but not the forms, at once.
	_, page = get(t, cy, f.srv.URL+"/members")
	if strings.Contains(page, `action="/members/invite"`) {
		t.Fatal("a viewer is offered the invite form")
	}
	if status, _ := api(t, "DELETE", f.srv.URL+"/api/v1/members/usr-nobody", ""); status != http.StatusNotFound {
		t.Fatalf("remove a stranger: %d", status)
	}
	if status, _ := api(t, "DELETE", f.srv.URL+"/api/v1/members/"+u.ID, ""); status != http.StatusOK {
		t.Fatalf("remove: %d", status)
	}
	// Removed: the session no longer opens the organisation.
	if status, _ := get(t, &noFollow, f.srv.URL+"/members"); status != http.StatusSeeOther {
		t.Fatalf("removed member's page: %d", status)
	}
	// Invitations to one address are rate limited.
	api(t, "POST", f.srv.URL+"/api/v1/invitations", `{"email":"dee@example.com","role":"member"}`)
	api(t, "POST", f.srv.URL+"/api/v1/invitations", `{"email":"dee@example.com","role":"member"}`)
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/invitations", strings.NewReader(`{"email":"dee@example.com","role":"member"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third invitation: %d", resp.StatusCode)
	}
}

// TestOwnerDeletesTheOrganisation: on the Members page an owner, and only
// an owner, is offered to delete the organisation; it takes the exact
// name to confirm; then the organisation and what it held are gone, the
// session's next page signs in again, and the other organisations (and
// the person) stay. The default organisation is never offered.
func TestOwnerDeletesTheOrganisation(t *testing.T) {
	f := peopleSetup(t, signin.Options{})
	ctx := context.Background()
	if status, body := api(t, "POST", f.srv.URL+"/api/v1/invitations", `{"email":"cy@example.com","role":"admin"}`); status != http.StatusCreated {
		t.Fatalf("invite: %d %s", status, body)
	}
	path, tok := f.mailedLink(t, "cy@example.com", 0)
	cy := person(t)
	if status, page := submit(t, cy, f.srv.URL+path, url.Values{"token": {tok}}); status != http.StatusOK {
		t.Fatalf("accept: %d %s", status, page)
	}
	u, err := f.store.UserByEmail(ctx, "cy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var personal agentscope.UserOrg
	orgs, _ := f.store.ListUserOrgs(ctx, u.ID)
	for _, o := range orgs {
		if o.ID != agentscope.DefaultOrgID {
			personal = o
		}
	}
	noFollow := *cy
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// An admin of the default organisation is not offered to delete it.
	_, page := get(t, cy, f.srv.URL+"/members")
	if strings.Contains(page, `id="delete-org"`) {
		t.Fatal("the default organisation's page offers to delete it")
	}
	if status, _ := submit(t, &noFollow, f.srv.URL+"/orgs/switch", url.Values{"csrf": {csrfOf(t, page)}, "org_id": {personal.ID}}); status != http.StatusSeeOther {
		t.Fatalf("switch: %d", status)
	}
	_, page = get(t, cy, f.srv.URL+"/members")
	mustContain(t, "owner's members page", page, `id="delete-org"`, `action="/org/delete"`)
	csrf := csrfOf(t, page)
	status, page := submit(t, &noFollow, f.srv.URL+"/org/delete", url.Values{"csrf": {csrf}, "confirm": {"not the name"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "must be the organisation&#39;s name") {
		t.Fatalf("a wrong confirmation: %d\n%s", status, page)
	}
	if _, err := f.store.GetOrg(ctx, personal.ID); err != nil {
		t.Fatalf("a wrong confirmation deleted it: %v", err)
	}
	if status, _ := submit(t, &noFollow, f.srv.URL+"/org/delete", url.Values{"csrf": {csrf}, "confirm": {personal.Name}}); status != http.StatusSeeOther {
		t.Fatalf("delete: %d", status)
	}
	if _, err := f.store.GetOrg(ctx, personal.ID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Fatalf("the organisation after deleting it: %v", err)
	}
	if agents, err := f.store.ListAgents(ctx, personal.ID); err != nil || len(agents) != 0 {
		t.Fatalf("its agents after deleting it: %v %v", agents, err)
	}
	if status, _ := get(t, &noFollow, f.srv.URL+"/members"); status != http.StatusSeeOther {
		t.Fatalf("the deleted organisation's page: %d", status)
	}
	if m, err := f.store.GetMembership(ctx, agentscope.DefaultOrgID, u.ID); err != nil || m.Role != agentscope.RoleAdmin {
		t.Fatalf("cy's other membership: %+v, %v", m, err)
	}
}
