package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// OAuthStore is what a store keeps MCP hosts' OAuth clients, codes,
// grants and tokens with (*sqlstore.Store), beside IdentityStore.
type OAuthStore interface {
	IdentityStore
	CreateOAuthClient(ctx context.Context, c agentscope.OAuthClient) (agentscope.OAuthClient, error)
	GetOAuthClient(ctx context.Context, id string) (agentscope.OAuthClient, error)
	PutOAuthClient(ctx context.Context, c agentscope.OAuthClient) (agentscope.OAuthClient, error)
	CreateOAuthCode(ctx context.Context, c agentscope.OAuthCode) (agentscope.OAuthCode, agentscope.Credential, error)
	ExchangeOAuthCode(ctx context.Context, credential string, accessTTL, refreshTTL time.Duration, check func(agentscope.OAuthCode) error) (agentscope.OAuthTokens, error)
	RefreshOAuthGrant(ctx context.Context, credential, clientID string, accessTTL, refreshTTL time.Duration) (agentscope.OAuthTokens, error)
	RevokeOAuthToken(ctx context.Context, credential string) error
	OAuthAccessToken(ctx context.Context, handle string) (agentscope.OAuthAccess, error)
	ListOAuthGrants(ctx context.Context, orgID string) ([]agentscope.OAuthGrant, error)
	RevokeOAuthGrant(ctx context.Context, orgID, id, actor string) error
}

// RunOAuth runs the OAuth suite against the stores open returns, which
// must implement OAuthStore: registration, single-use codes, rotation with
// reuse detection, revocation, expiry, races with one winner, and that no
// organisation reaches another's grants.
func RunOAuth(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, OAuthStore){
		"Clients":       testOAuthClients,
		"CodeExchange":  testOAuthCodeExchange,
		"CodeLimits":    testOAuthCodeLimits,
		"Refresh":       testOAuthRefresh,
		"RefreshRace":   testOAuthRefreshRace,
		"ApproverLeft":  testOAuthApproverChanges,
		"Revoke":        testOAuthRevoke,
		"CrossOrgGrant": testOAuthIsolation,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, ok := open(t).(OAuthStore)
			if !ok {
				t.Fatal("the store does not keep OAuth clients and grants (storetest.OAuthStore)")
			}
			fn(t, s)
		})
	}
}

const (
	oauthResource = "https://agentscope.example/mcp"
	accessTTL     = 10 * time.Minute
	refreshTTL    = 24 * time.Hour
)

func mustClient(t *testing.T, s OAuthStore) agentscope.OAuthClient {
	t.Helper()
	c, err := s.CreateOAuthClient(context.Background(), agentscope.OAuthClient{Name: "Claude", RedirectURIs: []string{"http://127.0.0.1:33418/callback", "https://claude.ai/api/mcp/auth_callback"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustCode keeps a code of an owner for client in org with scopes.
func mustCode(t *testing.T, s OAuthStore, org, client string, scopes ...agentscope.Scope) agentscope.Credential {
	t.Helper()
	_, cred, err := s.CreateOAuthCode(context.Background(), agentscope.OAuthCode{
		Grant:       agentscope.OAuthGrant{OrgID: org, ClientID: client, Actor: "instance", Role: agentscope.RoleOwner, Scopes: scopes, Resource: oauthResource},
		RedirectURI: "http://127.0.0.1:33418/callback", CodeChallenge: "challenge", ExpiresAt: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func pass(agentscope.OAuthCode) error { return nil }

// mustExchange exchanges a fresh code for tokens.
func mustExchange(t *testing.T, s OAuthStore, org, client string, scopes ...agentscope.Scope) agentscope.OAuthTokens {
	t.Helper()
	tok, err := s.ExchangeOAuthCode(context.Background(), mustCode(t, s, org, client, scopes...).Reveal(), accessTTL, refreshTTL, pass)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// accessGrant looks an access token up as the authenticator does and
// returns its grant, failing unless the hash matches.
func accessGrant(t *testing.T, s OAuthStore, c agentscope.Credential) agentscope.OAuthGrant {
	t.Helper()
	a, err := s.OAuthAccessToken(context.Background(), c.Handle)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Matches(a.Hash) {
		t.Fatal("the stored hash does not match the access token")
	}
	return a.Grant
}

func testOAuthClients(t *testing.T, s OAuthStore) {
	ctx := context.Background()
	c := mustClient(t, s)
	got, err := s.GetOAuthClient(ctx, c.ID)
	if err != nil || got.Name != "Claude" || !slices.Equal(got.RedirectURIs, c.RedirectURIs) || !strings.HasPrefix(c.ID, "mcpc-") {
		t.Fatalf("GetOAuthClient = %+v, %v", got, err)
	}
	_, err = s.GetOAuthClient(ctx, "mcpc-nope")
	wantCode(t, "unknown client", err, agentscope.ENOTFOUND, "")
	for name, uris := range map[string][]string{
		"none":           nil,
		"plain http":     {"http://evil.example/cb"},
		"custom scheme":  {"cursor://callback"},
		"javascript":     {"javascript:alert(1)"},
		"fragment":       {"https://app.example/cb#x"},
		"relative":       {"/callback"},
		"user info":      {"https://a@app.example/cb"},
		"one bad of two": {"https://app.example/cb", "http://10.0.0.1/cb"},
		"too many":       slices.Repeat([]string{"https://app.example/cb"}, agentscope.MaxRedirectURIs+1),
	} {
		_, err := s.CreateOAuthClient(ctx, agentscope.OAuthClient{Name: "x", RedirectURIs: uris})
		wantCode(t, name, err, agentscope.EINVALID, "redirect_uris")
	}
	if _, err := s.CreateOAuthClient(ctx, agentscope.OAuthClient{Name: "bad\x00name", RedirectURIs: []string{"https://app.example/cb"}}); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("a control character in client_name: %v", err)
	}

	// A client no grant or code refers to is dropped a day after it
	// registered, when the next one registers; one with a grant stays.
	org := mustOrg(t, s, "a").ID
	abandoned, used := mustClient(t, s), mustClient(t, s)
	mustExchange(t, s, org, used.ID, agentscope.ScopeRead)
	if _, err := s.WriteDB().Exec(`UPDATE oauth_clients SET created_at = created_at - 2 * 86400000000`); err != nil {
		t.Fatal(err)
	}
	mustClient(t, s)
	if _, err := s.GetOAuthClient(ctx, abandoned.ID); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("an abandoned registration stays: %v", err)
	}
	if _, err := s.GetOAuthClient(ctx, used.ID); err != nil {
		t.Errorf("a client with a grant was dropped: %v", err)
	}

	// A metadata document's client is kept under its URL, and replaced
	// by the document's next version.
	const doc = "https://host.example/oauth/client.json"
	for _, name := range []string{"Host", "Host 2"} {
		got, err := s.PutOAuthClient(ctx, agentscope.OAuthClient{ID: doc, Name: name, RedirectURIs: []string{"http://127.0.0.1/cb"}})
		if err != nil || got.ID != doc || got.Name != name {
			t.Fatalf("PutOAuthClient(%s) = %+v, %v", name, got, err)
		}
	}
	for name, c := range map[string]agentscope.OAuthClient{
		"not a URL":    {ID: "mcpc-x", RedirectURIs: []string{"http://127.0.0.1/cb"}},
		"bad redirect": {ID: doc, RedirectURIs: []string{"http://evil.example/cb"}},
	} {
		if _, err := s.PutOAuthClient(ctx, c); agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("PutOAuthClient %s: %v", name, err)
		}
	}
	if got, _ := s.GetOAuthClient(ctx, doc); got.Name != "Host 2" || got.RedirectURIs[0] != "http://127.0.0.1/cb" {
		t.Errorf("a refused update changed the client: %+v", got)
	}
}

func testOAuthCodeExchange(t *testing.T, s OAuthStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "a").ID
	client := mustClient(t, s).ID
	code := mustCode(t, s, org, client, agentscope.ScopeRead, agentscope.ScopeRun)
	if code.Kind != agentscope.CredentialOAuthCode {
		t.Fatalf("code kind %s", code.Kind)
	}

	// A check that refuses leaves the code unused; it sees what was
	// approved.
	var seen agentscope.OAuthCode
	_, err := s.ExchangeOAuthCode(ctx, code.Reveal(), accessTTL, refreshTTL, func(c agentscope.OAuthCode) error {
		seen = c
		return agentscope.Errorf(agentscope.EINVALID, "code_verifier does not match")
	})
	wantCode(t, "refused by check", err, agentscope.EINVALID, "code_verifier")
	if seen.Grant.OrgID != org || seen.Grant.ClientID != client || seen.RedirectURI != "http://127.0.0.1:33418/callback" || seen.CodeChallenge != "challenge" || agentscope.JoinScopes(seen.Grant.Scopes) != "read,run" || seen.Grant.Resource != oauthResource {
		t.Errorf("check saw %+v", seen)
	}

	tok, err := s.ExchangeOAuthCode(ctx, code.Reveal(), accessTTL, refreshTTL, pass)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Access.Kind != agentscope.CredentialAccessToken || tok.Refresh.Kind != agentscope.CredentialRefreshToken || !tok.AccessExpiresAt.After(time.Now()) || !tok.RefreshExpiresAt.After(tok.AccessExpiresAt) {
		t.Fatalf("tokens %v %v expiring %v %v", tok.Access, tok.Refresh, tok.AccessExpiresAt, tok.RefreshExpiresAt)
	}
	g := accessGrant(t, s, tok.Access)
	if g.ID != tok.Grant.ID || g.OrgID != org || g.Role != agentscope.RoleOwner || agentscope.JoinScopes(g.Scopes) != "read,run" || g.Resource != oauthResource || g.RevokedAt != nil {
		t.Fatalf("grant %+v", g)
	}
	if _, err := s.OAuthAccessToken(ctx, tok.Refresh.Handle); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("a refresh token found as an access token: %v", err)
	}

	// A replayed code is refused and revokes the grant it gave.
	_, err = s.ExchangeOAuthCode(ctx, code.Reveal(), accessTTL, refreshTTL, pass)
	wantCode(t, "replayed code", err, agentscope.EUNAUTHORIZED, "already used")
	if g := accessGrant(t, s, tok.Access); g.RevokedAt == nil {
		t.Error("a replayed code left its grant standing")
	}
	if got := auditActions(t, s, org); !slices.Contains(got, "oauth.granted "+g.ID) || !slices.Contains(got, "oauth.revoked "+g.ID) {
		t.Errorf("audit %v", got)
	}

	// Strangers: not a code, another kind, a wrong secret.
	wrong := mustCode(t, s, org, client, agentscope.ScopeRead).Reveal()
	wrong = wrong[:len(wrong)-1] + map[bool]string{true: "0", false: "1"}[wrong[len(wrong)-1] != '0']
	for name, c := range map[string]string{"garbage": "nope", "access token": tok.Access.Reveal(), "wrong secret": wrong} {
		_, err := s.ExchangeOAuthCode(ctx, c, accessTTL, refreshTTL, pass)
		wantCode(t, name, err, agentscope.EUNAUTHORIZED, "")
		if err != nil && strings.Contains(err.Error(), c) {
			t.Errorf("%s: the error repeats the credential", name)
		}
	}

	// An expired code is refused.
	old := mustCode(t, s, org, client, agentscope.ScopeRead)
	if _, err := s.WriteDB().Exec(`UPDATE oauth_codes SET expires_at = expires_at - 86400000000`); err != nil {
		t.Fatal(err)
	}
	_, err = s.ExchangeOAuthCode(ctx, old.Reveal(), accessTTL, refreshTTL, pass)
	wantCode(t, "expired code", err, agentscope.EUNAUTHORIZED, "")
}

func testOAuthCodeLimits(t *testing.T, s OAuthStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "a").ID
	client := mustClient(t, s).ID
	base := agentscope.OAuthCode{
		Grant:       agentscope.OAuthGrant{OrgID: org, ClientID: client, Actor: "user:u1", UserID: "u1", Role: agentscope.RoleViewer, Scopes: []agentscope.Scope{agentscope.ScopeRead}, Resource: oauthResource},
		RedirectURI: "https://app.example/cb", CodeChallenge: "c", ExpiresAt: time.Now().Add(time.Minute),
	}
	if _, _, err := s.CreateOAuthCode(ctx, base); err != nil {
		t.Fatalf("a viewer's read code: %v", err)
	}
	for name, c := range map[string]struct {
		edit func(*agentscope.OAuthCode)
		code string
	}{
		"scope beyond role": {func(c *agentscope.OAuthCode) {
			c.Grant.Scopes = []agentscope.Scope{agentscope.ScopeRead, agentscope.ScopeIngest}
		}, agentscope.EFORBIDDEN},
		"no scopes":      {func(c *agentscope.OAuthCode) { c.Grant.Scopes = nil }, agentscope.EINVALID},
		"unknown scope":  {func(c *agentscope.OAuthCode) { c.Grant.Scopes = []agentscope.Scope{"offline_access"} }, agentscope.EINVALID},
		"no role":        {func(c *agentscope.OAuthCode) { c.Grant.Role = "" }, agentscope.EINVALID},
		"no challenge":   {func(c *agentscope.OAuthCode) { c.CodeChallenge = "" }, agentscope.EINVALID},
		"no resource":    {func(c *agentscope.OAuthCode) { c.Grant.Resource = "" }, agentscope.EINVALID},
		"past":           {func(c *agentscope.OAuthCode) { c.ExpiresAt = time.Now().Add(-time.Second) }, agentscope.EINVALID},
		"unknown org":    {func(c *agentscope.OAuthCode) { c.Grant.OrgID = "org-nope" }, agentscope.ENOTFOUND},
		"unknown client": {func(c *agentscope.OAuthCode) { c.Grant.ClientID = "mcpc-nope" }, agentscope.ENOTFOUND},
	} {
		code := base
		code.Grant.Scopes = slices.Clone(base.Grant.Scopes)
		c.edit(&code)
		_, _, err := s.CreateOAuthCode(ctx, code)
		wantCode(t, name, err, c.code, "")
	}
}

func testOAuthRefresh(t *testing.T, s OAuthStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "a").ID
	client := mustClient(t, s).ID
	first := mustExchange(t, s, org, client, agentscope.ScopeRead)

	_, err := s.RefreshOAuthGrant(ctx, first.Refresh.Reveal(), "mcpc-other", accessTTL, refreshTTL)
	wantCode(t, "another client's refresh", err, agentscope.EUNAUTHORIZED, "")
	_, err = s.RefreshOAuthGrant(ctx, first.Access.Reveal(), client, accessTTL, refreshTTL)
	wantCode(t, "an access token as refresh", err, agentscope.EUNAUTHORIZED, "")

	second, err := s.RefreshOAuthGrant(ctx, first.Refresh.Reveal(), client, accessTTL, refreshTTL)
	if err != nil {
		t.Fatal(err)
	}
	if second.Grant.ID != first.Grant.ID || second.Refresh.Reveal() == first.Refresh.Reveal() || second.Access.Reveal() == first.Access.Reveal() {
		t.Fatalf("rotation gave %+v", second)
	}
	third, err := s.RefreshOAuthGrant(ctx, second.Refresh.Reveal(), client, accessTTL, refreshTTL)
	if err != nil {
		t.Fatal(err)
	}
	if g := accessGrant(t, s, third.Access); g.RevokedAt != nil {
		t.Fatal("rotation revoked the grant")
	}

	// Reusing a rotated refresh token revokes the whole family, the
	// newest tokens included.
	_, err = s.RefreshOAuthGrant(ctx, first.Refresh.Reveal(), client, accessTTL, refreshTTL)
	wantCode(t, "reused refresh token", err, agentscope.EUNAUTHORIZED, "already used")
	if g := accessGrant(t, s, third.Access); g.RevokedAt == nil {
		t.Fatal("reuse left the grant standing")
	}
	_, err = s.RefreshOAuthGrant(ctx, third.Refresh.Reveal(), client, accessTTL, refreshTTL)
	wantCode(t, "newest refresh of a revoked grant", err, agentscope.EUNAUTHORIZED, "")

	// An expired refresh token is refused.
	other := mustExchange(t, s, org, client, agentscope.ScopeRead)
	if _, err := s.WriteDB().Exec(`UPDATE oauth_tokens SET expires_at = expires_at - 86400000000 - 1`); err != nil {
		t.Fatal(err)
	}
	_, err = s.RefreshOAuthGrant(ctx, other.Refresh.Reveal(), client, accessTTL, refreshTTL)
	wantCode(t, "expired refresh", err, agentscope.EUNAUTHORIZED, "")
}

// testOAuthRefreshRace: of two clients presenting the same refresh token
// at once, at most one gets tokens; and whichever loses, the family ends
// up revoked, since the token was presented twice.
func testOAuthRefreshRace(t *testing.T, s OAuthStore) {
	org := mustOrg(t, s, "a").ID
	client := mustClient(t, s).ID
	tok := mustExchange(t, s, org, client, agentscope.ScopeRead)
	var got [2]agentscope.OAuthTokens
	errs := race(func(k int) (err error) {
		got[k], err = s.RefreshOAuthGrant(context.Background(), tok.Refresh.Reveal(), client, accessTTL, refreshTTL)
		return err
	})
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two refreshes of one token: %v, %v", errs[0], errs[1])
	}
	winner := got[0]
	if errs[0] != nil {
		winner = got[1]
	}
	if g := accessGrant(t, s, winner.Access); g.RevokedAt == nil {
		t.Error("a refresh token presented twice left its grant standing")
	}
}

func testOAuthRevoke(t *testing.T, s OAuthStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "a").ID
	client := mustClient(t, s).ID
	for _, which := range []string{"access", "refresh"} {
		tok := mustExchange(t, s, org, client, agentscope.ScopeRead)
		cred := tok.Access
		if which == "refresh" {
			cred = tok.Refresh
		}
		if err := s.RevokeOAuthToken(ctx, cred.Reveal()); err != nil {
			t.Fatal(err)
		}
		if g := accessGrant(t, s, tok.Access); g.RevokedAt == nil {
			t.Errorf("revoking the %s token left the grant standing", which)
		}
		_, err := s.RefreshOAuthGrant(ctx, tok.Refresh.Reveal(), client, accessTTL, refreshTTL)
		wantCode(t, "refresh after revoking the "+which+" token", err, agentscope.EUNAUTHORIZED, "")
		if err := s.RevokeOAuthToken(ctx, cred.Reveal()); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
	}
	// RFC 7009: an unknown token is no error, and changes nothing.
	tok := mustExchange(t, s, org, client, agentscope.ScopeRead)
	wrong := agentscope.NewCredential(agentscope.CredentialAccessToken)
	for _, c := range []string{"", "nope", wrong.Reveal(), mustCode(t, s, org, client, agentscope.ScopeRead).Reveal()} {
		if err := s.RevokeOAuthToken(ctx, c); err != nil {
			t.Errorf("RevokeOAuthToken(stranger): %v", err)
		}
	}
	if g := accessGrant(t, s, tok.Access); g.RevokedAt != nil {
		t.Error("revoking strangers revoked a grant")
	}
}

func testOAuthIsolation(t *testing.T, s OAuthStore) {
	ctx := context.Background()
	a, b := mustOrg(t, s, "a").ID, mustOrg(t, s, "b").ID
	client := mustClient(t, s).ID
	ta := mustExchange(t, s, a, client, agentscope.ScopeRead)
	tb := mustExchange(t, s, b, client, agentscope.ScopeAdmin)
	if accessGrant(t, s, ta.Access).OrgID != a || accessGrant(t, s, tb.Access).OrgID != b {
		t.Fatal("a token names another organisation")
	}
	la, err := s.ListOAuthGrants(ctx, a)
	if err != nil || len(la) != 1 || la[0].ID != ta.Grant.ID || la[0].ClientName != "Claude" {
		t.Fatalf("grants of a: %+v, %v", la, err)
	}
	err = s.RevokeOAuthGrant(ctx, a, tb.Grant.ID, "user:u")
	wantCode(t, "revoking b's grant as a", err, agentscope.ENOTFOUND, "")
	if g := accessGrant(t, s, tb.Access); g.RevokedAt != nil {
		t.Fatal("a revoked b's grant")
	}
	if err := s.RevokeOAuthGrant(ctx, b, tb.Grant.ID, "user:u"); err != nil {
		t.Fatal(err)
	}
	if g := accessGrant(t, s, tb.Access); g.RevokedAt == nil {
		t.Fatal("RevokeOAuthGrant left the grant standing")
	}
	if got := auditActions(t, s, a); slices.Contains(got, "oauth.revoked "+tb.Grant.ID) {
		t.Errorf("a's audit shows b's revocation: %v", got)
	}
}

// testOAuthApproverChanges: a refresh checks the approver's membership: a
// lower role that still allows the scopes caps the grant, one that does
// not revokes it, and so does leaving the organisation.
func testOAuthApproverChanges(t *testing.T, s OAuthStore) {
	ctx := context.Background()
	org := mustOrg(t, s, "a").ID
	client := mustClient(t, s).ID
	owner, member := mustUser(t, s, "owner@a.example"), mustUser(t, s, "member@a.example")
	for _, u := range []agentscope.User{owner, member} {
		role := agentscope.RoleOwner
		if u.ID == member.ID {
			role = agentscope.RoleAdmin
		}
		if _, err := s.AddMember(ctx, org, u.ID, role, operator); err != nil {
			t.Fatal(err)
		}
	}
	grant := func(scopes ...agentscope.Scope) agentscope.OAuthTokens {
		_, code, err := s.CreateOAuthCode(ctx, agentscope.OAuthCode{
			Grant:       agentscope.OAuthGrant{OrgID: org, ClientID: client, Actor: "user:" + member.ID, UserID: member.ID, Role: agentscope.RoleAdmin, Scopes: scopes, Resource: oauthResource},
			RedirectURI: "http://127.0.0.1:33418/callback", CodeChallenge: "c", ExpiresAt: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.ExchangeOAuthCode(ctx, code.Reveal(), accessTTL, refreshTTL, pass)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	read, ingest := grant(agentscope.ScopeRead), grant(agentscope.ScopeIngest, agentscope.ScopeRead)
	if _, err := s.SetMemberRole(ctx, org, member.ID, agentscope.RoleViewer, operator); err != nil {
		t.Fatal(err)
	}
	next, err := s.RefreshOAuthGrant(ctx, read.Refresh.Reveal(), client, accessTTL, refreshTTL)
	if err != nil {
		t.Fatalf("refresh of a read grant by a viewer now: %v", err)
	}
	if g := accessGrant(t, s, next.Access); g.Role != agentscope.RoleViewer || g.RevokedAt != nil {
		t.Errorf("after the approver became a viewer the grant's role is %s (revoked %v), want viewer", g.Role, g.RevokedAt)
	}
	_, err = s.RefreshOAuthGrant(ctx, ingest.Refresh.Reveal(), client, accessTTL, refreshTTL)
	wantCode(t, "refresh of an ingest grant by a viewer now", err, agentscope.EUNAUTHORIZED, "role")
	if g := accessGrant(t, s, ingest.Access); g.RevokedAt == nil {
		t.Error("a grant beyond its approver's new role stands")
	}
	if err := s.RemoveMember(ctx, org, member.ID, operator); err != nil {
		t.Fatal(err)
	}
	_, err = s.RefreshOAuthGrant(ctx, next.Refresh.Reveal(), client, accessTTL, refreshTTL)
	wantCode(t, "refresh after the approver left", err, agentscope.EUNAUTHORIZED, "no longer a member")
	if g := accessGrant(t, s, next.Access); g.RevokedAt == nil {
		t.Error("a grant of a person who left stands")
	}
}
