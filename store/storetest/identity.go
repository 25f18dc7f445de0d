package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// IdentityStore is what a store keeps organisations, people, keys, emailed
// links and the audit log with (*sqlstore.Store).
type IdentityStore interface {
	CreateOrg(ctx context.Context, name, actor string) (agentscope.Org, error)
	GetOrg(ctx context.Context, id string) (agentscope.Org, error)
	ListOrgs(ctx context.Context) ([]agentscope.Org, error)

	CreateUser(ctx context.Context, u agentscope.User) (agentscope.User, error)
	CreateUserWithOrg(ctx context.Context, u agentscope.User, orgName string) (agentscope.User, agentscope.Org, error)
	GetUser(ctx context.Context, id string) (agentscope.User, error)
	UserByEmail(ctx context.Context, email string) (agentscope.User, error)
	AddMember(ctx context.Context, orgID, userID string, role agentscope.Role, actor string) (agentscope.Membership, error)
	GetMembership(ctx context.Context, orgID, userID string) (agentscope.Membership, error)
	ListMembers(ctx context.Context, orgID string) ([]agentscope.Member, error)
	ListUserOrgs(ctx context.Context, userID string) ([]agentscope.UserOrg, error)
	SetMemberRole(ctx context.Context, orgID, userID string, role agentscope.Role, actor string) (agentscope.Membership, error)
	RemoveMember(ctx context.Context, orgID, userID, actor string) error

	CreateAPIKey(ctx context.Context, k agentscope.APIKey) (agentscope.APIKey, agentscope.Credential, error)
	GetAPIKey(ctx context.Context, orgID, id string) (agentscope.APIKey, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]agentscope.APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, id, actor string) (agentscope.APIKey, error)
	APIKeyByPrefix(ctx context.Context, prefix string) (agentscope.APIKey, error)
	APIKeyOrg(ctx context.Context, id string) (string, error)
	TouchAPIKey(ctx context.Context, orgID, id string, at time.Time, every time.Duration) (bool, error)

	CreateEmailToken(ctx context.Context, e agentscope.EmailToken) (agentscope.EmailToken, agentscope.Credential, error)
	ConsumeSignInLink(ctx context.Context, credential string) (agentscope.EmailToken, error)
	PendingEmailToken(ctx context.Context, kind agentscope.EmailTokenKind, credential string) (agentscope.EmailToken, error)
	AcceptInvitation(ctx context.Context, credential, userID string) (agentscope.Membership, error)
	ListInvitations(ctx context.Context, orgID string) ([]agentscope.EmailToken, error)
	RevokeInvitation(ctx context.Context, orgID, id, actor string) error

	AppendAudit(ctx context.Context, e agentscope.AuditEntry) (agentscope.AuditEntry, error)
	ListAudit(ctx context.Context, orgID string, f agentscope.AuditFilter) (agentscope.AuditPage, error)

	// WriteDB lets a test age a row past its expiry.
	WriteDB() *sql.DB
}

// RunIdentity runs the suite of organisations, people, keys, emailed links
// and the audit log against the stores open returns, which must implement
// IdentityStore: each kind of object, the races that must have one winner,
// and that no organisation reaches another's objects.
func RunIdentity(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, IdentityStore){
		"Orgs":               testOrgs,
		"UsersAndMembers":    testUsersAndMembers,
		"LastOwnerRace":      testLastOwnerRace,
		"APIKeys":            testAPIKeys,
		"SignInLinks":        testSignInLinks,
		"SingleUseRace":      testSingleUseRace,
		"Invitations":        testInvitations,
		"AuditPaging":        testAuditPaging,
		"CrossOrgIsolation":  testIdentityIsolation,
		"AuditOfEveryChange": testAuditOfEveryChange,
		"AuditOfConfig":      testAuditOfConfigChanges,
		"DeleteOrg":          testDeleteOrg,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, ok := open(t).(IdentityStore)
			if !ok {
				t.Fatal("the store does not keep organisations, people and keys (storetest.IdentityStore)")
			}
			fn(t, s)
		})
	}
}

const operator = agentscope.ActorOperator

func mustOrg(t *testing.T, s IdentityStore, name string) agentscope.Org {
	t.Helper()
	o, err := s.CreateOrg(context.Background(), name, operator)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustUser(t *testing.T, s IdentityStore, email string) agentscope.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), agentscope.User{Email: email, Name: email})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustKey(t *testing.T, s IdentityStore, orgID string, scopes ...agentscope.Scope) (agentscope.APIKey, agentscope.Credential) {
	t.Helper()
	k, c, err := s.CreateAPIKey(context.Background(), agentscope.APIKey{OrgID: orgID, Name: "ci", Scopes: scopes, CreatedBy: operator})
	if err != nil {
		t.Fatal(err)
	}
	return k, c
}

// wantCode fails unless err has the code (and, when want is set, a message
// holding it).
func wantCode(t *testing.T, what string, err error, code, want string) {
	t.Helper()
	if agentscope.ErrorCode(err) != code || !strings.Contains(agentscope.ErrorMessage(err), want) {
		t.Errorf("%s: %v (code %q), want %s %q", what, err, agentscope.ErrorCode(err), code, want)
	}
}

// auditActions lists an organisation's audit log, oldest first, as
// "action target" lines.
func auditActions(t *testing.T, s IdentityStore, orgID string) []string {
	t.Helper()
	page, err := s.ListAudit(context.Background(), orgID, agentscope.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(page.Entries) - 1; i >= 0; i-- {
		e := page.Entries[i]
		if e.OrgID != orgID {
			t.Errorf("audit of %s lists an entry of %s", orgID, e.OrgID)
		}
		out = append(out, string(e.Action)+" "+e.Target)
	}
	return out
}

func testOrgs(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	a := mustOrg(t, s, "  Acme  ")
	if a.Name != "Acme" || agentscope.ValidateOrgID(a.ID) != nil || a.CreatedAt.IsZero() {
		t.Errorf("created %+v", a)
	}
	if got, err := s.GetOrg(ctx, a.ID); err != nil || mustJSON(t, got) != mustJSON(t, a) {
		t.Errorf("GetOrg = %+v, %v; want %+v", got, err, a)
	}
	_, err := s.GetOrg(ctx, "org-missing")
	wantCode(t, "missing organisation", err, agentscope.ENOTFOUND, `organisation "org-missing" not found`)
	for _, bad := range []string{"", "  ", "a\x00b", strings.Repeat("x", 101)} {
		_, err := s.CreateOrg(ctx, bad, operator)
		wantCode(t, "organisation named "+bad, err, agentscope.EINVALID, "name")
	}
	all, err := s.ListOrgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range all {
		ids = append(ids, o.ID)
	}
	// The default organisation exists from the first migration on, so the
	// instance token's organisation can be given keys at once.
	if strings.Join(ids, " ") != agentscope.DefaultOrgID+" "+a.ID {
		t.Errorf("ListOrgs = %v, want default and %s", ids, a.ID)
	}
	if got := auditActions(t, s, a.ID); strings.Join(got, ",") != "org.created "+a.ID {
		t.Errorf("audit %v", got)
	}
}

func testUsersAndMembers(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "Acme")
	ada := mustUser(t, s, "Ada@Example.com")
	if ada.Email != "ada@example.com" {
		t.Errorf("email stored as %q", ada.Email)
	}
	_, err := s.CreateUser(ctx, agentscope.User{Email: "ADA@example.com", Name: "Other Ada"})
	wantCode(t, "second user with the address", err, agentscope.ECONFLICT, "address")
	_, err = s.CreateUser(ctx, agentscope.User{Email: "Ada <ada@example.com>", Name: "x"})
	wantCode(t, "display name address", err, agentscope.EINVALID, "email")
	if got, err := s.UserByEmail(ctx, "ADA@EXAMPLE.COM"); err != nil || got.ID != ada.ID {
		t.Errorf("UserByEmail = %+v, %v", got, err)
	}
	if got, err := s.GetUser(ctx, ada.ID); err != nil || mustJSON(t, got) != mustJSON(t, ada) {
		t.Errorf("GetUser = %+v, %v", got, err)
	}
	bob := mustUser(t, s, "bob@example.com")

	if _, err := s.AddMember(ctx, org.ID, ada.ID, agentscope.RoleOwner, operator); err != nil {
		t.Fatal(err)
	}
	m, err := s.AddMember(ctx, org.ID, bob.ID, agentscope.RoleViewer, operator)
	if err != nil || m.Role != agentscope.RoleViewer {
		t.Fatalf("AddMember = %+v, %v", m, err)
	}
	_, err = s.AddMember(ctx, org.ID, bob.ID, agentscope.RoleAdmin, operator)
	wantCode(t, "member twice", err, agentscope.ECONFLICT, "member already")
	_, err = s.AddMember(ctx, org.ID, "usr-missing", agentscope.RoleAdmin, operator)
	wantCode(t, "unknown user", err, agentscope.ENOTFOUND, "usr-missing")
	_, err = s.AddMember(ctx, "org-missing", bob.ID, agentscope.RoleAdmin, operator)
	wantCode(t, "unknown organisation", err, agentscope.ENOTFOUND, "org-missing")
	_, err = s.AddMember(ctx, org.ID, bob.ID, "root", operator)
	wantCode(t, "unknown role", err, agentscope.EINVALID, "unknown role")

	if m, err := s.SetMemberRole(ctx, org.ID, bob.ID, agentscope.RoleAdmin, "user:"+ada.ID); err != nil || m.Role != agentscope.RoleAdmin {
		t.Errorf("SetMemberRole = %+v, %v", m, err)
	}
	_, err = s.SetMemberRole(ctx, org.ID, ada.ID, agentscope.RoleMember, operator)
	wantCode(t, "last owner demoted", err, agentscope.ECONFLICT, "last owner")
	wantCode(t, "last owner removed", s.RemoveMember(ctx, org.ID, ada.ID, operator), agentscope.ECONFLICT, "last owner")
	members, err := s.ListMembers(ctx, org.ID)
	if err != nil || len(members) != 2 || members[0].Email != "ada@example.com" || members[0].Role != agentscope.RoleOwner || members[1].Role != agentscope.RoleAdmin {
		t.Errorf("ListMembers = %+v, %v", members, err)
	}
	// With a second owner, the first may step down.
	if _, err := s.SetMemberRole(ctx, org.ID, bob.ID, agentscope.RoleOwner, operator); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, org.ID, ada.ID, "user:"+ada.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetMembership(ctx, org.ID, ada.ID)
	wantCode(t, "removed member", err, agentscope.ENOTFOUND, ada.ID)
	wantCode(t, "removed twice", s.RemoveMember(ctx, org.ID, ada.ID, operator), agentscope.ENOTFOUND, ada.ID)

	// A first sign-in: the user, a personal organisation and the owner
	// membership, together.
	cy, personal, err := s.CreateUserWithOrg(ctx, agentscope.User{Email: "cy@example.com", Name: "Cy"}, "Cy's organisation")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, org.ID, cy.ID, agentscope.RoleMember, operator); err != nil {
		t.Fatal(err)
	}
	orgs, err := s.ListUserOrgs(ctx, cy.ID)
	if err != nil || len(orgs) != 2 || orgs[0].ID != org.ID || orgs[0].Role != agentscope.RoleMember || orgs[1].ID != personal.ID || orgs[1].Role != agentscope.RoleOwner {
		t.Errorf("ListUserOrgs = %+v, %v", orgs, err)
	}
	// A failed first sign-in leaves nothing behind.
	if _, _, err := s.CreateUserWithOrg(ctx, agentscope.User{Email: "dee@example.com", Name: "Dee"}, " "); err == nil {
		t.Fatal("an organisation without a name was created")
	}
	_, err = s.UserByEmail(ctx, "dee@example.com")
	wantCode(t, "user of a failed sign-up", err, agentscope.ENOTFOUND, "")
}

// testLastOwnerRace: two owners demote each other at once; the
// organisation keeps exactly one owner.
func testLastOwnerRace(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	for i := range 8 {
		org := mustOrg(t, s, "race")
		a, b := mustUser(t, s, "a"+string(rune('0'+i))+"@example.com"), mustUser(t, s, "b"+string(rune('0'+i))+"@example.com")
		for _, u := range []agentscope.User{a, b} {
			if _, err := s.AddMember(ctx, org.ID, u.ID, agentscope.RoleOwner, operator); err != nil {
				t.Fatal(err)
			}
		}
		errs := race(func(k int) error {
			_, err := s.SetMemberRole(ctx, org.ID, []string{a.ID, b.ID}[k], agentscope.RoleAdmin, operator)
			return err
		})
		owners := 0
		members, err := s.ListMembers(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if m.Role == agentscope.RoleOwner {
				owners++
			}
		}
		if owners != 1 || (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("after two owners demoted each other: %d owners, errors %v", owners, errs)
		}
	}
}

// race runs fn(0) and fn(1) at once, as nearly together as goroutines
// can start, and returns their errors.
func race(fn func(k int) error) [2]error {
	var (
		errs  [2]error
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for k := range 2 {
		wg.Go(func() {
			<-start
			errs[k] = fn(k)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testAPIKeys(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "Acme")
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	k, cred, err := s.CreateAPIKey(ctx, agentscope.APIKey{OrgID: org.ID, Name: " pipeline ", Scopes: []agentscope.Scope{"run", "ingest", "run"}, ExpiresAt: &expires, CreatedBy: operator})
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "pipeline" || agentscope.JoinScopes(k.Scopes) != "ingest,run" || k.Prefix != cred.Prefix() || cred.Kind != agentscope.CredentialAPIKey ||
		!k.ExpiresAt.Equal(expires) || k.Hash != "" || k.OrgID != org.ID {
		t.Errorf("created %+v with %v", k, cred)
	}
	got, err := s.GetAPIKey(ctx, org.ID, k.ID)
	if err != nil || mustJSON(t, got) != mustJSON(t, k) || got.Hash != "" {
		t.Errorf("GetAPIKey = %+v, %v; want %+v", got, err, k)
	}
	found, err := s.APIKeyByPrefix(ctx, cred.Prefix())
	if err != nil || found.ID != k.ID || found.Hash != cred.Hash() || !cred.Matches(found.Hash) || found.OrgID != org.ID {
		t.Errorf("APIKeyByPrefix = %+v, %v", found, err)
	}
	_, err = s.APIKeyByPrefix(ctx, agentscope.NewCredential(agentscope.CredentialAPIKey).Prefix())
	wantCode(t, "unknown prefix", err, agentscope.ENOTFOUND, "")
	if o, err := s.APIKeyOrg(ctx, k.ID); err != nil || o != org.ID {
		t.Errorf("APIKeyOrg = %q, %v", o, err)
	}

	for name, c := range map[string]struct {
		k    agentscope.APIKey
		code string
		msg  string
	}{
		"no scope":      {agentscope.APIKey{OrgID: org.ID, Name: "x", CreatedBy: operator}, agentscope.EINVALID, "at least one scope"},
		"unknown scope": {agentscope.APIKey{OrgID: org.ID, Name: "x", Scopes: []agentscope.Scope{"write"}, CreatedBy: operator}, agentscope.EINVALID, `unknown scope "write"`},
		"no name":       {agentscope.APIKey{OrgID: org.ID, Scopes: []agentscope.Scope{"read"}, CreatedBy: operator}, agentscope.EINVALID, "name"},
		"past expiry":   {agentscope.APIKey{OrgID: org.ID, Name: "x", Scopes: []agentscope.Scope{"read"}, ExpiresAt: &time.Time{}, CreatedBy: operator}, agentscope.EINVALID, "expires_at"},
		"unknown org":   {agentscope.APIKey{OrgID: "org-missing", Name: "x", Scopes: []agentscope.Scope{"read"}, CreatedBy: operator}, agentscope.ENOTFOUND, `organisation "org-missing" not found`},
		"no actor":      {agentscope.APIKey{OrgID: org.ID, Name: "x", Scopes: []agentscope.Scope{"read"}}, agentscope.EINVALID, "actor"},
	} {
		_, _, err := s.CreateAPIKey(ctx, c.k)
		wantCode(t, name, err, c.code, c.msg)
	}

	// last_used_at is written once per interval, not on every use.
	t1 := time.Now().UTC().Truncate(time.Microsecond)
	for i, c := range []struct {
		at    time.Time
		wrote bool
	}{{t1, true}, {t1.Add(30 * time.Second), false}, {t1.Add(59 * time.Second), false}, {t1.Add(61 * time.Second), true}, {t1.Add(121 * time.Second), true}} {
		wrote, err := s.TouchAPIKey(ctx, org.ID, k.ID, c.at, time.Minute)
		if err != nil || wrote != c.wrote {
			t.Errorf("touch %d: wrote %v, %v; want %v", i, wrote, err, c.wrote)
		}
	}
	if got, _ := s.GetAPIKey(ctx, org.ID, k.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(t1.Add(121*time.Second)) {
		t.Errorf("last used %v", got.LastUsedAt)
	}

	second, _ := mustKey(t, s, org.ID, agentscope.ScopeRead)
	revoked, err := s.RevokeAPIKey(ctx, org.ID, k.ID, "user:usr-1")
	if err != nil || revoked.RevokedAt == nil {
		t.Fatalf("RevokeAPIKey = %+v, %v", revoked, err)
	}
	again, err := s.RevokeAPIKey(ctx, org.ID, k.ID, "user:usr-1")
	if err != nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Errorf("second revoke = %+v, %v", again, err)
	}
	if found, _ := s.APIKeyByPrefix(ctx, cred.Prefix()); found.RevokedAt == nil || found.Usable(time.Now()) {
		t.Errorf("revoked key found as %+v", found)
	}
	_, err = s.RevokeAPIKey(ctx, org.ID, "key-missing", operator)
	wantCode(t, "revoke unknown key", err, agentscope.ENOTFOUND, `API key "key-missing" not found`)
	list, err := s.ListAPIKeys(ctx, org.ID)
	if err != nil || len(list) != 2 || list[0].ID != k.ID || list[0].RevokedAt == nil || list[1].ID != second.ID || list[1].Hash != "" {
		t.Errorf("ListAPIKeys = %+v, %v", list, err)
	}
	// Revoked once: the audit log says so once.
	want := "org.created " + org.ID + ",key.created " + k.ID + ",key.created " + second.ID + ",key.revoked " + k.ID
	if got := strings.Join(auditActions(t, s, org.ID), ","); got != want {
		t.Errorf("audit\n%s\nwant\n%s", got, want)
	}
}

// ageTokens moves every email token's expiry a day into the past.
func ageTokens(t *testing.T, s IdentityStore) {
	t.Helper()
	if _, err := s.WriteDB().Exec(`UPDATE email_tokens SET expires_at = expires_at - 86400000000`); err != nil {
		t.Fatal(err)
	}
}

func testSignInLinks(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	e, cred, err := s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailSignIn, Email: "Ada@Example.com", ExpiresAt: time.Now().Add(15 * time.Minute), CreatedBy: "sign-in"})
	if err != nil {
		t.Fatal(err)
	}
	if cred.Kind != agentscope.CredentialSignIn || e.Email != "ada@example.com" || e.OrgID != "" {
		t.Errorf("created %+v, %v", e, cred)
	}
	wrong := agentscope.NewCredential(agentscope.CredentialSignIn).Reveal()
	for name, c := range map[string]string{
		"malformed":    "not a link",
		"unknown":      wrong,
		"wrong secret": cred.Prefix() + wrong[len(cred.Prefix()):],
		"wrong kind":   "ask" + cred.Reveal()[3:],
	} {
		_, err := s.ConsumeSignInLink(ctx, c)
		wantCode(t, name, err, agentscope.EUNAUTHORIZED, "not valid")
	}
	// Reading a pending link leaves it usable; it is never read as
	// another kind.
	for range 2 {
		if p, err := s.PendingEmailToken(ctx, agentscope.EmailSignIn, cred.Reveal()); err != nil || p.ID != e.ID || p.UsedAt != nil {
			t.Fatalf("PendingEmailToken = %+v, %v", p, err)
		}
	}
	_, err = s.PendingEmailToken(ctx, agentscope.EmailInvitation, cred.Reveal())
	wantCode(t, "pending as invitation", err, agentscope.EUNAUTHORIZED, "not valid")
	got, err := s.ConsumeSignInLink(ctx, cred.Reveal())
	if err != nil || got.Email != "ada@example.com" || got.UsedAt == nil || got.ID != e.ID {
		t.Fatalf("ConsumeSignInLink = %+v, %v", got, err)
	}
	_, err = s.ConsumeSignInLink(ctx, cred.Reveal())
	wantCode(t, "reused", err, agentscope.EUNAUTHORIZED, "used already")
	_, err = s.PendingEmailToken(ctx, agentscope.EmailSignIn, cred.Reveal())
	wantCode(t, "pending after use", err, agentscope.EUNAUTHORIZED, "used already")

	_, late, err := s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailSignIn, Email: "ada@example.com", ExpiresAt: time.Now().Add(time.Minute), CreatedBy: "sign-in"})
	if err != nil {
		t.Fatal(err)
	}
	ageTokens(t, s)
	_, err = s.ConsumeSignInLink(ctx, late.Reveal())
	wantCode(t, "expired", err, agentscope.EUNAUTHORIZED, "expired")

	for name, c := range map[string]struct {
		e   agentscope.EmailToken
		msg string
	}{
		"no address":     {agentscope.EmailToken{Kind: agentscope.EmailSignIn, ExpiresAt: time.Now().Add(time.Minute), CreatedBy: "x"}, "email"},
		"past expiry":    {agentscope.EmailToken{Kind: agentscope.EmailSignIn, Email: "a@b.c", ExpiresAt: time.Now().Add(-time.Minute), CreatedBy: "x"}, "expires_at"},
		"unknown kind":   {agentscope.EmailToken{Kind: "reset", Email: "a@b.c", ExpiresAt: time.Now().Add(time.Minute), CreatedBy: "x"}, "kind"},
		"sign-in in org": {agentscope.EmailToken{Kind: agentscope.EmailSignIn, OrgID: "default", Email: "a@b.c", ExpiresAt: time.Now().Add(time.Minute), CreatedBy: "x"}, "no organisation"},
	} {
		_, _, err := s.CreateEmailToken(ctx, c.e)
		wantCode(t, name, err, agentscope.EINVALID, c.msg)
	}
}

// testSingleUseRace: two consumers of one link at once; exactly one signs
// in, for every one of several links.
func testSingleUseRace(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	for i := range 16 {
		_, cred, err := s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailSignIn, Email: "ada@example.com", ExpiresAt: time.Now().Add(time.Minute), CreatedBy: "sign-in"})
		if err != nil {
			t.Fatal(err)
		}
		errs := race(func(int) error {
			_, err := s.ConsumeSignInLink(ctx, cred.Reveal())
			return err
		})
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("link %d consumed twice at once: errors %v", i, errs)
		}
		for _, err := range errs {
			if err != nil {
				wantCode(t, "the loser", err, agentscope.EUNAUTHORIZED, "used already")
			}
		}
	}
}

func testInvitations(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "Acme")
	ada, eve := mustUser(t, s, "ada@example.com"), mustUser(t, s, "eve@example.com")
	invite := func(email string, role agentscope.Role) (agentscope.EmailToken, agentscope.Credential) {
		t.Helper()
		e, c, err := s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailInvitation, OrgID: org.ID, Role: role, Email: email, ExpiresAt: time.Now().Add(time.Hour), CreatedBy: operator})
		if err != nil {
			t.Fatal(err)
		}
		return e, c
	}
	inv, cred := invite("ADA@example.com", agentscope.RoleAdmin)
	if cred.Kind != agentscope.CredentialInvitation || inv.OrgID != org.ID || inv.Role != agentscope.RoleAdmin || inv.Email != "ada@example.com" {
		t.Errorf("invitation %+v, %v", inv, cred)
	}
	// An invitation does not sign anyone in.
	_, err := s.ConsumeSignInLink(ctx, cred.Reveal())
	wantCode(t, "invitation as a sign-in link", err, agentscope.EUNAUTHORIZED, "not valid")
	// Bound to its address: another user cannot use it, and it stays
	// usable by the right one.
	_, err = s.AcceptInvitation(ctx, cred.Reveal(), eve.ID)
	wantCode(t, "accepted by another address", err, agentscope.EFORBIDDEN, "another address")
	pending, err := s.ListInvitations(ctx, org.ID)
	if err != nil || len(pending) != 1 || pending[0].ID != inv.ID {
		t.Errorf("ListInvitations = %+v, %v", pending, err)
	}
	m, err := s.AcceptInvitation(ctx, cred.Reveal(), ada.ID)
	if err != nil || m.Role != agentscope.RoleAdmin || m.OrgID != org.ID || m.UserID != ada.ID {
		t.Fatalf("AcceptInvitation = %+v, %v", m, err)
	}
	_, err = s.AcceptInvitation(ctx, cred.Reveal(), ada.ID)
	wantCode(t, "accepted twice", err, agentscope.EUNAUTHORIZED, "used already")
	// A member invited again keeps their role.
	_, again := invite("ada@example.com", agentscope.RoleViewer)
	if m, err := s.AcceptInvitation(ctx, again.Reveal(), ada.ID); err != nil || m.Role != agentscope.RoleAdmin {
		t.Errorf("member accepting again = %+v, %v", m, err)
	}
	_, late := invite("eve@example.com", agentscope.RoleMember)
	ageTokens(t, s)
	_, err = s.AcceptInvitation(ctx, late.Reveal(), eve.ID)
	wantCode(t, "expired", err, agentscope.EUNAUTHORIZED, "expired")

	withdrawn, wc := invite("eve@example.com", agentscope.RoleMember)
	if err := s.RevokeInvitation(ctx, org.ID, withdrawn.ID, operator); err != nil {
		t.Fatal(err)
	}
	_, err = s.AcceptInvitation(ctx, wc.Reveal(), eve.ID)
	wantCode(t, "revoked", err, agentscope.EUNAUTHORIZED, "not valid")
	wantCode(t, "revoked twice", s.RevokeInvitation(ctx, org.ID, withdrawn.ID, operator), agentscope.ENOTFOUND, withdrawn.ID)
	if pending, _ := s.ListInvitations(ctx, org.ID); len(pending) != 0 {
		t.Errorf("pending after all were used, expired or revoked: %+v", pending)
	}
	_, _, err = s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailInvitation, OrgID: org.ID, Role: "root", Email: "a@b.c", ExpiresAt: time.Now().Add(time.Hour), CreatedBy: operator})
	wantCode(t, "unknown role", err, agentscope.EINVALID, "role")
	_, _, err = s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailInvitation, OrgID: "org-missing", Role: agentscope.RoleMember, Email: "a@b.c", ExpiresAt: time.Now().Add(time.Hour), CreatedBy: operator})
	wantCode(t, "unknown organisation", err, agentscope.ENOTFOUND, "org-missing")
}

func testAuditPaging(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "Acme")
	for i := range 7 {
		e, err := s.AppendAudit(ctx, agentscope.AuditEntry{OrgID: org.ID, Actor: "user:usr-1", Action: agentscope.AuditAgentUpdated, Target: "agent-" + string(rune('a'+i)), Detail: json.RawMessage(`{"n":1}`)})
		if err != nil || e.ID == "" || e.At.IsZero() {
			t.Fatalf("AppendAudit = %+v, %v", e, err)
		}
	}
	var targets []string
	cursor := ""
	for range 10 {
		page, err := s.ListAudit(ctx, org.ID, agentscope.AuditFilter{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			targets = append(targets, e.Target)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	want := "agent-g agent-f agent-e agent-d agent-c agent-b agent-a " + org.ID
	if strings.Join(targets, " ") != want {
		t.Errorf("paged %v, want %s", targets, want)
	}
	_, err := s.ListAudit(ctx, org.ID, agentscope.AuditFilter{Cursor: "!!"})
	wantCode(t, "bad cursor", err, agentscope.EINVALID, "cursor")
	for name, e := range map[string]agentscope.AuditEntry{
		"detail not an object": {OrgID: org.ID, Actor: "operator", Action: "x", Detail: json.RawMessage(`[1]`)},
		"no actor":             {OrgID: org.ID, Action: "x"},
		"bad org":              {OrgID: "", Actor: "operator", Action: "x"},
	} {
		if _, err := s.AppendAudit(ctx, e); agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// testIdentityIsolation: with organisation B's id, none of A's keys,
// members, invitations or audit entries can be read, listed, revoked or
// changed, and each answers exactly as an id that does not exist.
func testIdentityIsolation(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	a, b := mustOrg(t, s, "A"), mustOrg(t, s, "B")
	ua, ub := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
	for _, m := range []struct {
		org, user string
	}{{a.ID, ua.ID}, {b.ID, ub.ID}} {
		if _, err := s.AddMember(ctx, m.org, m.user, agentscope.RoleOwner, operator); err != nil {
			t.Fatal(err)
		}
	}
	keyA, credA := mustKey(t, s, a.ID, agentscope.ScopeAdmin)
	mustKey(t, s, b.ID, agentscope.ScopeRead)
	invA, _, err := s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailInvitation, OrgID: a.ID, Role: agentscope.RoleMember, Email: "new@example.com", ExpiresAt: time.Now().Add(time.Hour), CreatedBy: operator})
	if err != nil {
		t.Fatal(err)
	}
	auditA, err := s.AppendAudit(ctx, agentscope.AuditEntry{OrgID: a.ID, Actor: "operator", Action: agentscope.AuditBudgetSet, Target: "secret-agent-of-a"})
	if err != nil {
		t.Fatal(err)
	}

	// Each call with B's id and A's object, beside the same call with B's
	// id and an id nobody has: same code, same message but for the id.
	same := func(what, foreignID string, call func(id string) error) {
		t.Helper()
		missing := strings.Repeat("z", len(foreignID))
		foreign, absent := call(foreignID), call(missing)
		if agentscope.ErrorCode(foreign) != agentscope.ENOTFOUND ||
			strings.ReplaceAll(agentscope.ErrorMessage(foreign), foreignID, "ID") != strings.ReplaceAll(agentscope.ErrorMessage(absent), missing, "ID") {
			t.Errorf("%s of A through B: %v; a missing id: %v", what, foreign, absent)
		}
	}
	same("get key", keyA.ID, func(id string) error { _, err := s.GetAPIKey(ctx, b.ID, id); return err })
	same("revoke key", keyA.ID, func(id string) error { _, err := s.RevokeAPIKey(ctx, b.ID, id, operator); return err })
	same("get member", ua.ID, func(id string) error { _, err := s.GetMembership(ctx, b.ID, id); return err })
	same("change member", ua.ID, func(id string) error {
		_, err := s.SetMemberRole(ctx, b.ID, id, agentscope.RoleViewer, operator)
		return err
	})
	same("remove member", ua.ID, func(id string) error { return s.RemoveMember(ctx, b.ID, id, operator) })
	same("revoke invitation", invA.ID, func(id string) error { return s.RevokeInvitation(ctx, b.ID, id, operator) })
	if wrote, err := s.TouchAPIKey(ctx, b.ID, keyA.ID, time.Now(), 0); err != nil || wrote {
		t.Errorf("touched A's key through B: %v, %v", wrote, err)
	}

	// A's objects are as they were.
	if k, err := s.APIKeyByPrefix(ctx, credA.Prefix()); err != nil || k.RevokedAt != nil || k.LastUsedAt != nil {
		t.Errorf("A's key after B's attempts: %+v, %v", k, err)
	}
	if m, err := s.GetMembership(ctx, a.ID, ua.ID); err != nil || m.Role != agentscope.RoleOwner {
		t.Errorf("A's member after B's attempts: %+v, %v", m, err)
	}
	if inv, err := s.ListInvitations(ctx, a.ID); err != nil || len(inv) != 1 {
		t.Errorf("A's invitations after B's attempts: %+v, %v", inv, err)
	}

	// B's lists hold nothing of A's, including with a cursor taken from
	// A's audit log.
	listed := mustJSON(t, func() []any {
		keys, _ := s.ListAPIKeys(ctx, b.ID)
		members, _ := s.ListMembers(ctx, b.ID)
		invs, _ := s.ListInvitations(ctx, b.ID)
		page, _ := s.ListAudit(ctx, b.ID, agentscope.AuditFilter{})
		pageA, _ := s.ListAudit(ctx, a.ID, agentscope.AuditFilter{Limit: 1})
		cont, _ := s.ListAudit(ctx, b.ID, agentscope.AuditFilter{Cursor: pageA.NextCursor})
		return []any{keys, members, invs, page, cont}
	}())
	for _, id := range []string{a.ID, keyA.ID, keyA.Prefix, ua.ID, "a@example.com", invA.ID, "new@example.com", auditA.ID, "secret-agent-of-a"} {
		if strings.Contains(listed, id) {
			t.Errorf("B's lists show %s of A: %s", id, listed)
		}
	}
	if orgs, err := s.ListUserOrgs(ctx, ub.ID); err != nil || len(orgs) != 1 || orgs[0].ID != b.ID {
		t.Errorf("B's user's organisations: %+v, %v", orgs, err)
	}
}

// testAuditOfEveryChange: each change to people and keys is in its
// organisation's audit log, with its actor, in order, and the log holds no
// credential.
func testAuditOfEveryChange(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "Acme")
	ada, bob := mustUser(t, s, "ada@example.com"), mustUser(t, s, "bob@example.com")
	owner := "user:" + ada.ID
	steps := []struct {
		do   func() (string, error)
		want string
	}{
		{func() (string, error) {
			_, err := s.AddMember(ctx, org.ID, ada.ID, agentscope.RoleOwner, operator)
			return ada.ID, err
		}, "member.added"},
		{func() (string, error) {
			k, c, err := s.CreateAPIKey(ctx, agentscope.APIKey{OrgID: org.ID, Name: "ci", Scopes: []agentscope.Scope{agentscope.ScopeIngest}, CreatedBy: owner})
			return k.ID + " " + c.Reveal(), err
		}, "key.created"},
		{func() (string, error) {
			e, c, err := s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailInvitation, OrgID: org.ID, Role: agentscope.RoleMember, Email: bob.Email, ExpiresAt: time.Now().Add(time.Hour), CreatedBy: owner})
			if err != nil {
				return "", err
			}
			_, err = s.AcceptInvitation(ctx, c.Reveal(), bob.ID)
			return e.ID + " " + c.Reveal(), err
		}, "invitation.created,invitation.accepted,member.added"},
		{func() (string, error) {
			_, err := s.SetMemberRole(ctx, org.ID, bob.ID, agentscope.RoleAdmin, owner)
			return bob.ID, err
		}, "member.role_changed"},
		{func() (string, error) { return bob.ID, s.RemoveMember(ctx, org.ID, bob.ID, owner) }, "member.removed"},
	}
	var secrets []string
	want := []string{"org.created"}
	for _, st := range steps {
		out, err := st.do()
		if err != nil {
			t.Fatal(err)
		}
		if _, secret, ok := strings.Cut(out, " "); ok {
			secrets = append(secrets, secret)
		}
		want = append(want, strings.Split(st.want, ",")...)
	}
	page, err := s.ListAudit(ctx, org.ID, agentscope.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(page.Entries) - 1; i >= 0; i-- {
		got = append(got, string(page.Entries[i].Action))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit actions\n%v\nwant\n%v", got, want)
	}
	all := mustJSON(t, page)
	for _, secret := range secrets {
		if strings.Contains(all, secret[len(secret)-64:]) {
			t.Error("the audit log holds a credential's secret")
		}
	}
	if !strings.Contains(all, `"actor":"`+owner+`"`) || !strings.Contains(all, `"actor":"user:`+bob.ID+`"`) {
		t.Errorf("actors missing from %s", all)
	}
}
