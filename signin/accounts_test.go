package signin_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/mailpittest"
	"github.com/agentscope/agentscope/signin"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

type accountsFixture struct {
	store    *sqlite.Store
	accounts *signin.Accounts
	mail     *mailpittest.Server
	mu       sync.Mutex
	prepared []string
	// failPrepare makes PrepareOrg fail.
	failPrepare bool
}

func newAccounts(t *testing.T, opts signin.Options) *accountsFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "accounts.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &accountsFixture{store: st}
	if opts.Mailer == nil {
		f.mail = mailpittest.Start(t)
		smtp, err := signin.ParseSMTPURL(f.mail.SMTPURL)
		if err != nil {
			t.Fatal(err)
		}
		smtp.From = "agentscope@example.com"
		opts.Mailer = signin.NewSMTPMailer(smtp)
	}
	opts.PublicURL = "https://scope.example.com"
	opts.PrepareOrg = func(_ context.Context, org string) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.failPrepare {
			return errors.New("no agents today")
		}
		f.prepared = append(f.prepared, org)
		return nil
	}
	f.accounts = signin.NewAccounts(st, opts)
	return f
}

var tokenRE = regexp.MustCompile(`https://scope\.example\.com(/[a-z/]+)\?token=(as[li]_[0-9a-f_]+)`)

// linkIn returns the path and token of the link in the newest mail to
// address.
func (f *accountsFixture) linkIn(t *testing.T, address string, seen int) (path, token string) {
	t.Helper()
	m := f.mail.Latest(t, address, seen)
	// Quoted-printable wraps long lines with "=\r\n"; the API gives the
	// decoded text.
	got := tokenRE.FindStringSubmatch(m.Text)
	if got == nil {
		t.Fatalf("no link in mail %q: %s", m.Subject, m.Text)
	}
	return got[1], got[2]
}

func TestFirstSignInBootstrap(t *testing.T) {
	f := newAccounts(t, signin.Options{Mailer: nopMailer{}})
	ctx := context.Background()
	s, err := f.accounts.SignIn(ctx, signin.Identity{Provider: "oidc", Email: "Ada@Example.com", Name: "Ada Lovelace"})
	if err != nil || !s.Created || s.User.Email != "ada@example.com" || s.OrgID == "" {
		t.Fatalf("first sign-in = %+v, %v", s, err)
	}
	orgs, err := f.store.ListUserOrgs(ctx, s.User.ID)
	if err != nil || len(orgs) != 1 || orgs[0].ID != s.OrgID || orgs[0].Role != agentscope.RoleOwner || orgs[0].Name != "Ada Lovelace's organisation" {
		t.Fatalf("orgs = %+v, %v", orgs, err)
	}
	if len(f.prepared) != 1 || f.prepared[0] != s.OrgID {
		t.Fatalf("prepared %v, want the new organisation", f.prepared)
	}
	again, err := f.accounts.SignIn(ctx, signin.Identity{Provider: "github", Email: "ada@example.com"})
	if err != nil || again.Created || again.User.ID != s.User.ID || again.OrgID != s.OrgID || len(f.prepared) != 2 || f.prepared[1] != s.OrgID {
		t.Fatalf("second sign-in = %+v, %v (prepared %v)", again, err, f.prepared)
	}
	p, err := f.accounts.Principal(ctx, s.User.ID, s.OrgID)
	if err != nil || p.Kind != agentscope.PrincipalUser || p.Role != agentscope.RoleOwner || p.UserID != s.User.ID {
		t.Fatalf("principal = %+v, %v", p, err)
	}
	// A first sign-in whose organisation could not be prepared fails, and
	// the next sign-in prepares it.
	f.failPrepare = true
	if _, err := f.accounts.SignIn(ctx, signin.Identity{Email: "eve@example.com"}); err == nil {
		t.Fatal("first sign-in succeeded although its organisation was not prepared")
	}
	f.failPrepare = false
	n := len(f.prepared)
	eve, err := f.accounts.SignIn(ctx, signin.Identity{Email: "eve@example.com"})
	if err != nil || eve.Created || len(f.prepared) != n+1 || f.prepared[n] != eve.OrgID {
		t.Fatalf("sign-in after a failed preparation = %+v, %v (prepared %v)", eve, err, f.prepared)
	}
	// Concurrent first sign-ins of one address make one user.
	var wg sync.WaitGroup
	ids := make([]string, 4)
	for i := range ids {
		wg.Go(func() {
			s, err := f.accounts.SignIn(ctx, signin.Identity{Email: "race@example.com"})
			if err != nil {
				t.Error(err)
			}
			ids[i] = s.User.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent first sign-ins made users %v", ids)
		}
	}
}

type nopMailer struct{}

func (nopMailer) Send(context.Context, string, string, string) error { return nil }

func TestEmailSignInLink(t *testing.T) {
	f := newAccounts(t, signin.Options{SignInLimit: signin.AddressLimit{Every: time.Hour, Burst: 3}})
	ctx := context.Background()
	if err := f.accounts.SendSignInLink(ctx, "Bob@Example.com"); err != nil {
		t.Fatal(err)
	}
	path, token := f.linkIn(t, "bob@example.com", 0)
	if path != "/auth/email/confirm" {
		t.Fatalf("link path %s", path)
	}
	// Looking at the link does not spend it.
	for range 2 {
		if e, err := f.accounts.CheckSignInLink(ctx, token); err != nil || e.Email != "bob@example.com" {
			t.Fatalf("check = %+v, %v", e, err)
		}
	}
	s, err := f.accounts.UseSignInLink(ctx, token)
	if err != nil || !s.Created || s.User.Email != "bob@example.com" {
		t.Fatalf("use = %+v, %v", s, err)
	}
	if _, err := f.accounts.UseSignInLink(ctx, token); agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED || !strings.Contains(err.Error(), "used already") {
		t.Fatalf("reused link: %v", err)
	}
	// A link bound to one address cannot be turned into an invitation.
	if _, err := f.accounts.AcceptInvitation(ctx, token); agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED {
		t.Fatalf("sign-in link as invitation: %v", err)
	}
	// Two more links, then the address is rate limited, another is not.
	for range 2 {
		if err := f.accounts.SendSignInLink(ctx, "bob@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	err = f.accounts.SendSignInLink(ctx, "BOB@example.com")
	var e *agentscope.Error
	if agentscope.ErrorCode(err) != agentscope.ERATELIMITED || !errors.As(err, &e) || e.RetryAfter <= 0 || e.RetryAfter > time.Hour {
		t.Fatalf("fourth link: %v", err)
	}
	if err := f.accounts.SendSignInLink(ctx, "carol@example.com"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	if err := f.accounts.SendSignInLink(ctx, "not an address"); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Fatalf("bad address: %v", err)
	}
}

func TestExpiredSignInLinkRefused(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newAccounts(t, signin.Options{Now: clock, LinkTTL: time.Minute})
	ctx := context.Background()
	if err := f.accounts.SendSignInLink(ctx, "dan@example.com"); err != nil {
		t.Fatal(err)
	}
	_, token := f.linkIn(t, "dan@example.com", 0)
	// The store's clock is the real one: the link expires a minute on.
	if _, err := f.store.WriteDB().Exec(`UPDATE email_tokens SET expires_at = expires_at - 120000000`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.accounts.UseSignInLink(ctx, token); agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired link: %v", err)
	}
}

func asUser(ctx context.Context, userID, orgID string, role agentscope.Role) context.Context {
	return agentscope.WithPrincipal(ctx, agentscope.Principal{Kind: agentscope.PrincipalUser, OrgID: orgID, UserID: userID, Role: role})
}

func TestInvitationsAndMembers(t *testing.T) {
	f := newAccounts(t, signin.Options{InvitationLimit: signin.AddressLimit{Every: time.Hour, Burst: 2}})
	ctx := context.Background()
	owner, err := f.accounts.SignIn(ctx, signin.Identity{Email: "owner@example.com", Name: "Olive"})
	if err != nil {
		t.Fatal(err)
	}
	octx := asUser(ctx, owner.User.ID, owner.OrgID, agentscope.RoleOwner)

	inv, err := f.accounts.Invite(octx, "Pat@Example.com", agentscope.RoleAdmin)
	if err != nil || inv.Email != "pat@example.com" || inv.Role != agentscope.RoleAdmin || inv.OrgID != owner.OrgID {
		t.Fatalf("invite = %+v, %v", inv, err)
	}
	path, token := f.linkIn(t, "pat@example.com", 0)
	if path != "/invitations/accept" {
		t.Fatalf("invitation link path %s", path)
	}
	if m := f.mail.Latest(t, "pat@example.com", 0); !strings.Contains(m.Subject, "Olive's organisation") {
		t.Fatalf("subject %q", m.Subject)
	}
	if list, err := f.accounts.ListInvitations(octx); err != nil || len(list) != 1 || list[0].ID != inv.ID {
		t.Fatalf("invitations = %+v, %v", list, err)
	}
	pending, err := f.accounts.CheckInvitation(ctx, token)
	if err != nil || pending.OrgName != "Olive's organisation" || pending.Email != "pat@example.com" {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
	pat, err := f.accounts.AcceptInvitation(ctx, token)
	if err != nil || pat.OrgID != owner.OrgID || pat.User.Email != "pat@example.com" || !pat.Created {
		t.Fatalf("accept = %+v, %v", pat, err)
	}
	if _, err := f.accounts.AcceptInvitation(ctx, token); agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED {
		t.Fatalf("reused invitation: %v", err)
	}
	orgs, _ := f.accounts.Orgs(ctx, pat.User.ID)
	if len(orgs) != 2 {
		t.Fatalf("pat's organisations = %+v, want personal and Olive's", orgs)
	}
	members, err := f.accounts.ListMembers(octx)
	if err != nil || len(members) != 2 {
		t.Fatalf("members = %+v, %v", members, err)
	}

	// Pat, an admin, manages members below owner only.
	pctx := asUser(ctx, pat.User.ID, owner.OrgID, agentscope.RoleAdmin)
	if _, err := f.accounts.Invite(pctx, "quinn@example.com", agentscope.RoleOwner); agentscope.ErrorCode(err) != agentscope.EFORBIDDEN {
		t.Fatalf("admin invites an owner: %v", err)
	}
	if _, err := f.accounts.SetMemberRole(pctx, owner.User.ID, agentscope.RoleViewer); agentscope.ErrorCode(err) != agentscope.EFORBIDDEN {
		t.Fatalf("admin demotes the owner: %v", err)
	}
	if err := f.accounts.RemoveMember(pctx, owner.User.ID); agentscope.ErrorCode(err) != agentscope.EFORBIDDEN {
		t.Fatalf("admin removes the owner: %v", err)
	}
	if _, err := f.accounts.Invite(pctx, "quinn@example.com", agentscope.RoleMember); err != nil {
		t.Fatalf("admin invites a member: %v", err)
	}
	// A viewer may list members but not invite.
	vctx := asUser(ctx, pat.User.ID, owner.OrgID, agentscope.RoleViewer)
	if _, err := f.accounts.ListMembers(vctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.accounts.Invite(vctx, "rae@example.com", agentscope.RoleViewer); agentscope.ErrorCode(err) != agentscope.EFORBIDDEN {
		t.Fatalf("viewer invites: %v", err)
	}
	// The owner cannot leave the organisation ownerless.
	if err := f.accounts.RemoveMember(octx, owner.User.ID); agentscope.ErrorCode(err) != agentscope.ECONFLICT {
		t.Fatalf("last owner removed: %v", err)
	}
	if m, err := f.accounts.SetMemberRole(octx, pat.User.ID, agentscope.RoleMember); err != nil || m.Role != agentscope.RoleMember {
		t.Fatalf("set role = %+v, %v", m, err)
	}
	if p, err := f.accounts.Principal(ctx, pat.User.ID, owner.OrgID); err != nil || p.Role != agentscope.RoleMember {
		t.Fatalf("principal after role change = %+v, %v", p, err)
	}
	if err := f.accounts.RemoveMember(octx, pat.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.accounts.Principal(ctx, pat.User.ID, owner.OrgID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Fatalf("removed member still signs in: %v", err)
	}

	// Invitations are rate limited per address; another organisation's
	// invitation answers as missing.
	if _, err := f.accounts.Invite(octx, "quinn@example.com", agentscope.RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, err := f.accounts.Invite(octx, "quinn@example.com", agentscope.RoleMember); agentscope.ErrorCode(err) != agentscope.ERATELIMITED {
		t.Fatalf("third invitation to one address: %v", err)
	}
	other, err := f.accounts.SignIn(ctx, signin.Identity{Email: "other@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	xctx := asUser(ctx, other.User.ID, other.OrgID, agentscope.RoleOwner)
	if err := f.accounts.RevokeInvitation(xctx, inv.ID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Fatalf("revoke another organisation's invitation: %v", err)
	}
	if _, err := f.accounts.SetMemberRole(xctx, owner.User.ID, agentscope.RoleViewer); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Fatalf("change a member of another organisation: %v", err)
	}
	list, _ := f.accounts.ListInvitations(octx)
	for _, i := range list {
		if err := f.accounts.RevokeInvitation(octx, i.ID); err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := f.accounts.ListInvitations(octx); len(list) != 0 {
		t.Fatalf("invitations after revoking = %+v", list)
	}
}
