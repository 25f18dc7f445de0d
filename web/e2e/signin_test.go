package e2e_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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

// peopleApp is serve's web UI with people signing in against a real OpenID
// provider (mockoidc) and a real SMTP server (Mailpit), over SQLite, with
// the starter agents made for each new organisation.
type peopleApp struct {
	url   string
	store *sqlite.Store
	oidc  *mockoidc.MockOIDC
	mail  *mailpittest.Server
}

// startPeopleApp starts it; with forgeNonce the provider mints ID tokens
// for a nonce other than the one AgentScope sent.
func startPeopleApp(t *testing.T, forgeNonce bool) *peopleApp {
	t.Helper()
	a := &peopleApp{mail: mailpittest.Start(t)}
	a.oidc = signintest.StartOIDC(t, forgeNonce)
	var err error
	if a.store, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "people.db"), sqlstore.Options{}); err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(a.store, recorder.Options{Hub: recorder.NewMemHub()})
	svc := service.New(rec, service.Options{Agents: a.store})
	srv := httptest.NewUnstartedServer(nil)
	a.url = "http://" + srv.Listener.Addr().String()
	smtp, err := signin.ParseSMTPURL(a.mail.SMTPURL)
	if err != nil {
		t.Fatal(err)
	}
	smtp.From = "scope@example.com"
	oc := a.oidc.Config()
	cfg := signin.Config{PublicURL: a.url, OIDC: signin.OIDCConfig{Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret}, SMTP: smtp}
	flows, err := signin.NewFlows(cfg, signin.FlowOptions{Key: []byte("e2e flow key")})
	if err != nil {
		t.Fatal(err)
	}
	accounts := signin.NewAccounts(a.store, signin.Options{Mailer: signin.NewSMTPMailer(smtp), PublicURL: a.url, PrepareOrg: svc.PrepareOrg})
	srv.Config.Handler = web.New(svc, web.Options{Tokens: map[string]string{token: org}, UI: web.UIOptions{Accounts: accounts, Flows: flows, Revocations: a.store}})
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		rec.Close()
		a.store.Close()
	})
	return a
}

var mailLink = regexp.MustCompile(`http://[^\s]+\?token=as[li]_[0-9a-f_]+`)

// link is the link in the newest mail to address.
func (a *peopleApp) link(t *testing.T, address string, seen int) string {
	t.Helper()
	l := mailLink.FindString(a.mail.Latest(t, address, seen).Text)
	if l == "" {
		t.Fatalf("no link in the mail to %s", address)
	}
	return l
}

func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// switchOrg picks an organisation in the switcher and waits for the page
// the switch leads to.
func (b *browser) switchOrg(id string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS("#org-switch"), id), chromedp.Click(chromedp.CSS("#org-switch-go")),
		// Only the new page marks the organisation selected in its HTML.
		chromedp.WaitReady(chromedp.CSS(`#org-switch option[selected][value="`+id+`"]`)))
}

// signInWithOIDC signs in through the provider button.
func (b *browser) signInWithOIDC(base, next, ready string) {
	b.t.Helper()
	b.do(chromedp.Navigate(base+next), chromedp.WaitVisible(chromedp.CSS("#signin-oidc")),
		chromedp.Click(chromedp.CSS("#signin-oidc")), chromedp.WaitVisible(chromedp.CSS(ready)))
}

// TestOIDCFirstSignInInBrowser: a person new to AgentScope signs in with
// the OpenID provider and lands, signed in, in their own organisation with
// the three starter agents.
func TestOIDCFirstSignInInBrowser(t *testing.T) {
	a := startPeopleApp(t, false)
	a.oidc.QueueUser(&mockoidc.MockUser{Subject: "ada", Email: "ada@example.com", EmailVerified: true, PreferredUsername: "Ada"})
	b := newBrowser(t)
	b.signInWithOIDC(a.url, "/agents", "#agent-cost-analyst")
	if loc := b.location(); !strings.HasSuffix(loc, "/agents") {
		t.Fatalf("not brought back to /agents: %s", loc)
	}
	for _, sel := range []string{"#agent-reliability", "#agent-research"} {
		b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	}
	if who := b.text(".topbar .user"); who != "ada@example.com" {
		t.Fatalf("signed in as %q", who)
	}
	if org := b.text(".topbar .org"); org != "Ada's organisation" {
		t.Fatalf("organisation %q", org)
	}
	b.screenshot("signin-oidc-first")
	u, err := a.store.UserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if orgs, _ := a.store.ListUserOrgs(context.Background(), u.ID); len(orgs) != 1 || orgs[0].Role != agentscope.RoleOwner {
		t.Fatalf("organisations %+v", orgs)
	}
	// A callback whose state is not this browser's flow is refused.
	b.do(chromedp.Navigate(a.url+"/auth/oidc/callback?state=forged&code=x"), chromedp.WaitVisible(chromedp.CSS(".notice.error")))
	if msg := b.text(".notice.error"); !strings.Contains(msg, "not started in this browser") {
		t.Fatalf("forged state: %q", msg)
	}
}

func TestOIDCNonceMismatchRefusedInBrowser(t *testing.T) {
	a := startPeopleApp(t, true)
	b := newBrowser(t)
	b.signInWithOIDC(a.url, "/", ".notice.error")
	if msg := b.text(".notice.error"); !strings.Contains(msg, "nonce") {
		t.Fatalf("forged nonce: %q", msg)
	}
	if u, err := a.store.UserByEmail(context.Background(), "jane.doe@example.com"); err == nil {
		t.Fatalf("a user was made despite the nonce: %+v", u)
	}
}

func TestEmailLinkInBrowser(t *testing.T) {
	a := startPeopleApp(t, false)
	b := newBrowser(t)
	b.do(chromedp.Navigate(a.url+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "bea@example.com"), chromedp.Click(chromedp.CSS("#email-link")),
		chromedp.WaitVisible(chromedp.CSS(".notice.info")))
	link := a.link(t, "bea@example.com", 0)
	b.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS(".topbar .user")))
	if who := b.text(".topbar .user"); who != "bea@example.com" {
		t.Fatalf("signed in as %q", who)
	}
	// Used once: refused in another browser.
	other := newBrowser(t)
	other.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(".notice.error")))
	if msg := other.text(".notice.error"); !strings.Contains(msg, "used already") {
		t.Fatalf("reused link: %q", msg)
	}
	// Expired: refused.
	other.do(chromedp.Navigate(a.url+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "bea@example.com"), chromedp.Click(chromedp.CSS("#email-link")),
		chromedp.WaitVisible(chromedp.CSS(".notice.info")))
	late := a.link(t, "bea@example.com", 1)
	if _, err := a.store.WriteDB().Exec(`UPDATE email_tokens SET expires_at = expires_at - 3600000000`); err != nil {
		t.Fatal(err)
	}
	other.do(chromedp.Navigate(late), chromedp.WaitVisible(chromedp.CSS(".notice.error")))
	if msg := other.text(".notice.error"); !strings.Contains(msg, "expired") {
		t.Fatalf("expired link: %q", msg)
	}
}

// TestInvitationInBrowser: an owner invites by email from the Members page;
// the invited person accepts in their own browser, is a member with the
// role, switches between their organisations, and loses access at once
// when removed.
func TestInvitationInBrowser(t *testing.T) {
	a := startPeopleApp(t, false)
	a.oidc.QueueUser(&mockoidc.MockUser{Subject: "olive", Email: "olive@example.com", EmailVerified: true, PreferredUsername: "Olive"})
	owner := newBrowser(t)
	owner.signInWithOIDC(a.url, "/members", "#invite")
	owner.do(chromedp.SendKeys(chromedp.CSS("#invite-email"), "cy@example.com"), chromedp.SetValue(chromedp.CSS("#invite-role"), "admin"),
		chromedp.Submit(chromedp.CSS("#invite-email")), chromedp.WaitVisible(chromedp.CSS("#invitations")))
	if row := owner.text("#invitations tbody"); !strings.Contains(row, "cy@example.com") || !strings.Contains(row, "admin") {
		t.Fatalf("pending invitations: %q", row)
	}
	owner.screenshot("members-invited")
	link := a.link(t, "cy@example.com", 0)

	cy := newBrowser(t)
	cy.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	if text := cy.text(".login-form"); !strings.Contains(text, "Olive's organisation") || !strings.Contains(text, "as admin") {
		t.Fatalf("invitation page: %q", text)
	}
	cy.do(chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#org-switch")))
	cy.do(chromedp.Navigate(a.url+"/members"), chromedp.WaitVisible(chromedp.CSS("#members")))
	if rows := cy.text("#members tbody"); !strings.Contains(rows, "olive@example.com") || !strings.Contains(rows, "cy@example.com") {
		t.Fatalf("cy sees the members %q", rows)
	}
	// Cy switches to their own organisation and back.
	u, err := a.store.UserByEmail(context.Background(), "cy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	orgs, _ := a.store.ListUserOrgs(context.Background(), u.ID)
	var personal string
	for _, o := range orgs {
		if o.Role == agentscope.RoleOwner {
			personal = o.ID
		}
	}
	cy.switchOrg(personal)
	cy.do(chromedp.Navigate(a.url+"/members"), chromedp.WaitVisible(chromedp.CSS("#members")))
	if rows := cy.text("#members tbody"); strings.Contains(rows, "olive@example.com") {
		t.Fatalf("after switching cy still sees Olive's members: %q", rows)
	}

	// Olive removes cy from her organisation: cy's next page there is the
	// sign-in page.
	var olivesOrg string
	for _, o := range orgs {
		if o.Role == agentscope.RoleAdmin {
			olivesOrg = o.ID
		}
	}
	cy.switchOrg(olivesOrg)
	owner.do(chromedp.Navigate(a.url+"/members"), chromedp.WaitVisible(chromedp.CSS(`tr[data-email="cy@example.com"]`)),
		chromedp.Click(chromedp.CSS(`tr[data-email="cy@example.com"] .danger`)),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-email="cy@example.com"]`)), chromedp.WaitVisible(chromedp.CSS("#members")))
	cy.do(chromedp.Navigate(a.url+"/members"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc := cy.location(); !strings.Contains(loc, "/login") {
		t.Fatalf("removed member at %s", loc)
	}
}
