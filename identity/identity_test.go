package identity_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/identity"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

const instanceToken = "instance-token-0123456789"

// keyStore is the store's key methods, counting the writes of last use.
type keyStore struct {
	*sqlstore.Store
	touches atomic.Int64
}

func (k *keyStore) TouchAPIKey(ctx context.Context, orgID, id string, at time.Time, every time.Duration) (bool, error) {
	k.touches.Add(1)
	return k.Store.TouchAPIKey(ctx, orgID, id, at, every)
}

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// eachStore runs fn against a fresh SQLite store and, when Postgres tests
// are on, a fresh Postgres one.
func eachStore(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "id.db"), sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s.Store)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s.Store)
	})
}

type bundle struct {
	auth  *identity.Authenticator
	keys  *keyStore
	clock *clock
}

func setup(t *testing.T, s *sqlstore.Store) bundle {
	t.Helper()
	b := bundle{keys: &keyStore{Store: s}, clock: &clock{now: time.Now().UTC().Truncate(time.Microsecond)}}
	var err error
	b.auth, err = identity.New(b.keys, identity.Options{
		InstanceTokens: map[string]string{instanceToken: agentscope.DefaultOrgID},
		Now:            b.clock.Now,
		TouchEvery:     time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newKey(t *testing.T, s *sqlstore.Store, org string, expires *time.Time, scopes ...agentscope.Scope) (agentscope.APIKey, string) {
	t.Helper()
	k, c, err := s.CreateAPIKey(context.Background(), agentscope.APIKey{OrgID: org, Name: "test", Scopes: scopes, ExpiresAt: expires, CreatedBy: agentscope.ActorOperator})
	if err != nil {
		t.Fatal(err)
	}
	return k, c.Reveal()
}

func wantUnauthorized(t *testing.T, what string, p agentscope.Principal, err error, msg string) {
	t.Helper()
	if agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED || !strings.Contains(err.Error(), msg) || p.Kind != "" {
		t.Errorf("%s: %+v, %v; want unauthorized %q", what, p, err, msg)
	}
}

// TestInstanceToken: the zero-setup token is the default organisation's
// owner, as before there were people and keys.
func TestInstanceToken(t *testing.T) {
	auth, err := identity.New(nil, identity.Options{InstanceTokens: map[string]string{instanceToken: agentscope.DefaultOrgID}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := auth.AuthenticateHeader(ctx, "bearer "+instanceToken)
	if err != nil || p.Kind != agentscope.PrincipalInstance || p.OrgID != agentscope.DefaultOrgID || p.Role != agentscope.RoleOwner || p.Actor() != "instance" {
		t.Fatalf("instance token: %+v, %v", p, err)
	}
	for a := range agentscope.Permissions {
		if !p.Allows(a) {
			t.Errorf("the instance token may not %s", a)
		}
	}
	// Without a key store, a key is just an invalid token.
	p, err = auth.Authenticate(ctx, agentscope.NewCredential(agentscope.CredentialAPIKey).Reveal())
	wantUnauthorized(t, "key without a store", p, err, "invalid token")
	for _, h := range []string{"", "Bearer", "Basic " + instanceToken, "Bearer" + instanceToken, instanceToken} {
		p, err := auth.AuthenticateHeader(ctx, h)
		wantUnauthorized(t, "header "+h, p, err, "Bearer")
	}
	p, err = auth.AuthenticateHeader(ctx, "Bearer "+instanceToken+"x")
	wantUnauthorized(t, "longer token", p, err, "invalid token")
	for _, bad := range []map[string]string{{"short": "default"}, {instanceToken: "bad org!"}} {
		if _, err := identity.New(nil, identity.Options{InstanceTokens: bad}); err == nil {
			t.Errorf("New accepted %v", bad)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, s *sqlstore.Store) {
		b := setup(t, s)
		ctx := context.Background()
		org, err := s.CreateOrg(ctx, "Acme", agentscope.ActorOperator)
		if err != nil {
			t.Fatal(err)
		}
		k, key := newKey(t, s, org.ID, nil, agentscope.ScopeRead, agentscope.ScopeIngest)
		p, err := b.auth.AuthenticateHeader(ctx, "Bearer "+key)
		if err != nil || p.Kind != agentscope.PrincipalKey || p.OrgID != org.ID || p.KeyID != k.ID || agentscope.JoinScopes(p.Scopes) != "ingest,read" || p.Role != "" {
			t.Fatalf("key: %+v, %v", p, err)
		}
		if !p.Allows(agentscope.ActionRecord) || p.Allows(agentscope.ActionRun) {
			t.Errorf("ingest,read key: record %v, run %v", p.Allows(agentscope.ActionRecord), p.Allows(agentscope.ActionRun))
		}
		if err := p.Authorize(agentscope.ActionInvestigate); err == nil || !strings.Contains(err.Error(), "lacks the run scope") {
			t.Errorf("investigate with an ingest,read key: %v", err)
		}

		// last_used_at: written on first use, not again within the
		// interval, and again after it.
		stored, _ := s.GetAPIKey(ctx, org.ID, k.ID)
		if stored.LastUsedAt == nil || !stored.LastUsedAt.Equal(b.clock.Now()) || b.keys.touches.Load() != 1 {
			t.Fatalf("after first use: last used %v, %d writes", stored.LastUsedAt, b.keys.touches.Load())
		}
		for range 5 {
			b.clock.Add(10 * time.Second)
			if _, err := b.auth.Authenticate(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if n := b.keys.touches.Load(); n != 1 {
			t.Errorf("%d writes of last use within a minute, want 1", n)
		}
		b.clock.Add(10 * time.Second)
		if _, err := b.auth.Authenticate(ctx, key); err != nil {
			t.Fatal(err)
		}
		stored, _ = s.GetAPIKey(ctx, org.ID, k.ID)
		if n := b.keys.touches.Load(); n != 2 || !stored.LastUsedAt.Equal(b.clock.Now()) {
			t.Errorf("a minute on: %d writes, last used %v (now %v)", n, stored.LastUsedAt, b.clock.Now())
		}

		// Anything but the exact key is an invalid token, alike.
		other := agentscope.NewCredential(agentscope.CredentialAPIKey).Reveal()
		for name, c := range map[string]string{
			"wrong secret":     key[:len(key)-64] + other[len(other)-64:],
			"unknown prefix":   other,
			"sign-in link":     "asl" + key[3:],
			"invitation":       "asi" + key[3:],
			"upper case":       strings.ToUpper(key),
			"instance-like":    "as_" + key[4:],
			"empty":            "",
			"key with a space": key + " ",
		} {
			p, err := b.auth.Authenticate(ctx, c)
			wantUnauthorized(t, name, p, err, "invalid token")
			if err != nil && strings.Contains(err.Error(), key[len(key)-64:]) {
				t.Errorf("%s: the error repeats the secret", name)
			}
		}

		// A key that expired, and a revoked one, say so to their holder.
		soon := b.clock.Now().Add(time.Hour)
		_, expiring := newKey(t, s, org.ID, &soon, agentscope.ScopeRun)
		if _, err := b.auth.Authenticate(ctx, expiring); err != nil {
			t.Fatal(err)
		}
		b.clock.Add(time.Hour)
		p, err = b.auth.Authenticate(ctx, expiring)
		wantUnauthorized(t, "expired", p, err, "expired at")
		if _, err := s.RevokeAPIKey(ctx, org.ID, k.ID, agentscope.ActorOperator); err != nil {
			t.Fatal(err)
		}
		p, err = b.auth.Authenticate(ctx, key)
		wantUnauthorized(t, "revoked", p, err, "revoked")

		// The instance token still signs in beside keys.
		if p, err := b.auth.Authenticate(ctx, instanceToken); err != nil || p.Kind != agentscope.PrincipalInstance {
			t.Errorf("instance token beside keys: %+v, %v", p, err)
		}
	})
}

// TestScopeMatrix: a key of every set of scopes signs in as a principal
// that may take exactly the actions of its scopes (admin: all that a key
// may), never an owner's.
func TestScopeMatrix(t *testing.T) {
	eachStore(t, func(t *testing.T, s *sqlstore.Store) {
		b := setup(t, s)
		ctx := context.Background()
		for mask := 1; mask < 1<<len(agentscope.Scopes); mask++ {
			var scopes []agentscope.Scope
			for i, sc := range agentscope.Scopes {
				if mask&(1<<i) != 0 {
					scopes = append(scopes, sc)
				}
			}
			_, key := newKey(t, s, agentscope.DefaultOrgID, nil, scopes...)
			p, err := b.auth.Authenticate(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			for action, perm := range agentscope.Permissions {
				want := perm.Scope != "" && (slices.Contains(scopes, perm.Scope) || slices.Contains(scopes, agentscope.ScopeAdmin))
				if p.Allows(action) != want {
					t.Errorf("key %s: %s allowed %v, want %v", agentscope.JoinScopes(scopes), action, !want, want)
				}
			}
		}
	})
}

// fakeKeys holds one key in memory, for the fuzz target.
type fakeKeys struct{ key agentscope.APIKey }

func (f fakeKeys) APIKeyByPrefix(_ context.Context, prefix string) (agentscope.APIKey, error) {
	if prefix != f.key.Prefix {
		return agentscope.APIKey{}, agentscope.Errorf(agentscope.ENOTFOUND, "no key")
	}
	return f.key, nil
}

func (fakeKeys) TouchAPIKey(context.Context, string, string, time.Time, time.Duration) (bool, error) {
	return true, nil
}

// FuzzAuthenticateHeader: whatever the header, only the instance token and
// the one key sign in, refusals are EUNAUTHORIZED, and no error repeats
// what was sent.
func FuzzAuthenticateHeader(f *testing.F) {
	cred := agentscope.NewCredential(agentscope.CredentialAPIKey)
	key := cred.Reveal()
	keys := fakeKeys{agentscope.APIKey{OrgID: "org-a", ID: "key-1", Prefix: cred.Prefix(), Hash: cred.Hash(), Scopes: []agentscope.Scope{agentscope.ScopeRead}}}
	auth, err := identity.New(keys, identity.Options{InstanceTokens: map[string]string{instanceToken: agentscope.DefaultOrgID}})
	if err != nil {
		f.Fatal(err)
	}
	for _, h := range []string{"Bearer " + key, "bearer " + instanceToken, "BEARER  " + key + " ", "Basic x", "Bearer", "", "Bearer as_x", "Bearer " + key[:len(key)-1] + "0"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		p, err := auth.AuthenticateHeader(context.Background(), header)
		if err != nil {
			if agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED || p.Kind != "" {
				t.Fatalf("%q: %+v, %v", header, p, err)
			}
			if len(header) >= 12 && strings.Contains(err.Error(), header) {
				t.Fatalf("%q: the error repeats the header: %v", header, err)
			}
			return
		}
		scheme, rest, _ := strings.Cut(header, " ")
		sent := strings.TrimSpace(rest)
		switch {
		case !strings.EqualFold(scheme, "Bearer"):
			t.Fatalf("%q signed in without the Bearer scheme", header)
		case sent == instanceToken && p.Kind == agentscope.PrincipalInstance && p.OrgID == agentscope.DefaultOrgID:
		case sent == key && p.Kind == agentscope.PrincipalKey && p.KeyID == "key-1" && p.OrgID == "org-a":
		default:
			t.Fatalf("%q signed in as %+v", header, p)
		}
	})
}

const mcpResource = "https://agentscope.example/mcp"

// TestOAuthAccessTokens: an access token signs in only where it is bound
// (RFC 8707), as its grant's organisation with its scopes and approver's
// role, until it expires or its grant is revoked.
func TestOAuthAccessTokens(t *testing.T) {
	eachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		clk := &clock{now: time.Now().UTC()}
		auth, err := identity.New(nil, identity.Options{AccessTokens: s, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		org, err := s.CreateOrg(ctx, "Acme", agentscope.ActorOperator)
		if err != nil {
			t.Fatal(err)
		}
		client, err := s.CreateOAuthClient(ctx, agentscope.OAuthClient{Name: "host", RedirectURIs: []string{"http://127.0.0.1/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		issue := func() agentscope.OAuthTokens {
			_, code, err := s.CreateOAuthCode(ctx, agentscope.OAuthCode{
				Grant:       agentscope.OAuthGrant{OrgID: org.ID, ClientID: client.ID, Actor: "user:u1", UserID: "u1", Role: agentscope.RoleMember, Scopes: []agentscope.Scope{agentscope.ScopeRead}, Resource: mcpResource},
				RedirectURI: "http://127.0.0.1/cb", CodeChallenge: "c", ExpiresAt: time.Now().Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := s.ExchangeOAuthCode(ctx, code.Reveal(), time.Hour, 24*time.Hour, func(agentscope.OAuthCode) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		tok := issue()
		p, err := auth.AuthenticateResource(ctx, tok.Access.Reveal(), mcpResource)
		if err != nil || p.Kind != agentscope.PrincipalOAuth || p.OrgID != org.ID || p.UserID != "u1" || p.GrantID != tok.Grant.ID || p.Role != agentscope.RoleMember || agentscope.JoinScopes(p.Scopes) != "read" {
			t.Fatalf("access token: %+v, %v", p, err)
		}
		if !p.Allows(agentscope.ActionSearch) || p.Allows(agentscope.ActionRecord) {
			t.Errorf("a read token of a member: search %v, record %v", p.Allows(agentscope.ActionSearch), p.Allows(agentscope.ActionRecord))
		}
		p, err = auth.Authenticate(ctx, tok.Access.Reveal())
		wantUnauthorized(t, "access token off its resource", p, err, "OAuth access token, valid only at /mcp; this endpoint takes an API key")
		if strings.Contains(err.Error(), tok.Access.Reveal()) || strings.Contains(err.Error(), tok.Access.Prefix()) {
			t.Errorf("the refusal repeats the token: %v", err)
		}
		p, err = auth.AuthenticateResource(ctx, tok.Access.Reveal(), "https://other.example/mcp")
		wantUnauthorized(t, "access token of another resource", p, err, "another resource")
		p, err = auth.AuthenticateResource(ctx, tok.Refresh.Reveal(), mcpResource)
		wantUnauthorized(t, "refresh token as bearer", p, err, "invalid token")
		forged := agentscope.NewCredential(agentscope.CredentialAccessToken)
		p, err = auth.AuthenticateResource(ctx, tok.Access.Prefix()+forged.Reveal()[len(forged.Prefix()):], mcpResource)
		wantUnauthorized(t, "wrong secret", p, err, "invalid token")

		clk.Add(time.Hour + time.Minute)
		p, err = auth.AuthenticateResource(ctx, tok.Access.Reveal(), mcpResource)
		wantUnauthorized(t, "expired", p, err, "expired")

		tok = issue()
		if err := s.RevokeOAuthToken(ctx, tok.Refresh.Reveal()); err != nil {
			t.Fatal(err)
		}
		p, err = auth.AuthenticateResource(ctx, tok.Access.Reveal(), mcpResource)
		wantUnauthorized(t, "revoked", p, err, "revoked")
	})
}

// fakeAccess holds one access token in memory, for the fuzz target.
type fakeAccess struct{ t agentscope.OAuthAccess }

func (f fakeAccess) OAuthAccessToken(_ context.Context, handle string) (agentscope.OAuthAccess, error) {
	if handle != f.t.TokenID {
		return agentscope.OAuthAccess{}, agentscope.Errorf(agentscope.ENOTFOUND, "no token")
	}
	return f.t, nil
}

// FuzzAuthenticateResource: whatever the credential, only the one access
// token signs in on its resource, refusals are EUNAUTHORIZED, and no
// error repeats what was sent.
func FuzzAuthenticateResource(f *testing.F) {
	cred := agentscope.NewCredential(agentscope.CredentialAccessToken)
	tok := cred.Reveal()
	store := fakeAccess{agentscope.OAuthAccess{TokenID: cred.Handle, Hash: cred.Hash(), ExpiresAt: time.Now().Add(time.Hour),
		Grant: agentscope.OAuthGrant{ID: "grant-1", OrgID: "org-a", Role: agentscope.RoleMember, Scopes: []agentscope.Scope{agentscope.ScopeRead}, Resource: mcpResource}}}
	auth, err := identity.New(nil, identity.Options{AccessTokens: store})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{tok, tok[:len(tok)-1] + "0", "asr" + tok[3:], "ask" + tok[3:], strings.ToUpper(tok), ""} {
		f.Add(s, mcpResource)
		f.Add(s, "https://agentscope.example/mcp/")
	}
	f.Fuzz(func(t *testing.T, credential, resource string) {
		p, err := auth.AuthenticateResource(context.Background(), credential, resource)
		if err != nil {
			if agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED || p.Kind != "" {
				t.Fatalf("%q: %+v, %v", credential, p, err)
			}
			if len(credential) >= 12 && strings.Contains(err.Error(), credential) {
				t.Fatalf("%q: the error repeats the credential: %v", credential, err)
			}
			return
		}
		if credential != tok || resource != mcpResource || p.Kind != agentscope.PrincipalOAuth || p.OrgID != "org-a" || p.GrantID != "grant-1" {
			t.Fatalf("%q on %q signed in as %+v", credential, resource, p)
		}
	})
}

// TestOAuthApproverNow: with Memberships, an access token acts for its
// approver as they are now: capped at a lower role at once, and refused
// once they left the organisation, without waiting for a refresh.
func TestOAuthApproverNow(t *testing.T) {
	eachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		auth, err := identity.New(nil, identity.Options{AccessTokens: s, Memberships: s})
		if err != nil {
			t.Fatal(err)
		}
		org, err := s.CreateOrg(ctx, "Acme", agentscope.ActorOperator)
		if err != nil {
			t.Fatal(err)
		}
		var users []agentscope.User
		for i, role := range []agentscope.Role{agentscope.RoleOwner, agentscope.RoleAdmin} {
			u, err := s.CreateUser(ctx, agentscope.User{Email: fmt.Sprintf("u%d@acme.example", i), Name: "u"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddMember(ctx, org.ID, u.ID, role, agentscope.ActorOperator); err != nil {
				t.Fatal(err)
			}
			users = append(users, u)
		}
		approver := users[1]
		client, err := s.CreateOAuthClient(ctx, agentscope.OAuthClient{Name: "host", RedirectURIs: []string{"http://127.0.0.1/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		_, code, err := s.CreateOAuthCode(ctx, agentscope.OAuthCode{
			Grant:       agentscope.OAuthGrant{OrgID: org.ID, ClientID: client.ID, Actor: "user:" + approver.ID, UserID: approver.ID, Role: agentscope.RoleAdmin, Scopes: []agentscope.Scope{agentscope.ScopeAdmin}, Resource: mcpResource},
			RedirectURI: "http://127.0.0.1/cb", CodeChallenge: "c", ExpiresAt: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.ExchangeOAuthCode(ctx, code.Reveal(), time.Hour, 24*time.Hour, func(agentscope.OAuthCode) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		p, err := auth.AuthenticateResource(ctx, tok.Access.Reveal(), mcpResource)
		if err != nil || p.Role != agentscope.RoleAdmin || !p.Allows(agentscope.ActionManageAgents) {
			t.Fatalf("an admin's admin token: %+v, %v", p, err)
		}
		if _, err := s.SetMemberRole(ctx, org.ID, approver.ID, agentscope.RoleMember, agentscope.ActorOperator); err != nil {
			t.Fatal(err)
		}
		p, err = auth.AuthenticateResource(ctx, tok.Access.Reveal(), mcpResource)
		if err != nil || p.Role != agentscope.RoleMember || p.Allows(agentscope.ActionManageAgents) || !p.Allows(agentscope.ActionRun) {
			t.Fatalf("after the approver became a member: %+v, %v", p, err)
		}
		if err := s.RemoveMember(ctx, org.ID, approver.ID, agentscope.ActorOperator); err != nil {
			t.Fatal(err)
		}
		p, err = auth.AuthenticateResource(ctx, tok.Access.Reveal(), mcpResource)
		wantUnauthorized(t, "after the approver left", p, err, "no longer a member")
	})
}
