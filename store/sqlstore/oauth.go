package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// OAuth for MCP hosts (oauth_clients, oauth_grants, oauth_codes,
// oauth_tokens). Codes and tokens are credentials: the handle finds the
// row and only the hash of the secret is kept. A code is used once; a
// refresh token is rotated once, and presenting a rotated one again
// revokes its whole grant, as a replayed code does.

// UnusedOAuthClientTTL is how long a registered client that no grant or
// code refers to is kept.
const UnusedOAuthClientTTL = 24 * time.Hour

// errOAuthInvalid answers every code or token that is not one, alike.
var errOAuthInvalid = agentscope.Errorf(agentscope.EUNAUTHORIZED, "invalid or expired grant")

// CreateOAuthClient registers c (Name, RedirectURIs, each checked with
// agentscope.ValidateRedirectURI) with a fresh id.
func (s *Store) CreateOAuthClient(ctx context.Context, c agentscope.OAuthClient) (agentscope.OAuthClient, error) {
	uris, err := cleanOAuthClient(&c)
	if err != nil {
		return agentscope.OAuthClient{}, err
	}
	c.ID, c.CreatedAt = agentscope.NewOAuthClientID(), s.now()
	err = s.inTx(ctx, func(t tx) error {
		// Registrations that never led to a grant within a day are
		// dropped on the way, so clients registered and abandoned (or
		// registered in bulk) do not pile up.
		if _, err := t.exec(ctx, `DELETE FROM oauth_clients WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = oauth_clients.id)
			AND NOT EXISTS (SELECT 1 FROM oauth_codes k WHERE k.client_id = oauth_clients.id)`, micros(c.CreatedAt.Add(-UnusedOAuthClientTTL))); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO oauth_clients (id, name, redirect_uris, created_at) VALUES (?, ?, ?, ?)`, c.ID, c.Name, uris, micros(c.CreatedAt))
		return err
	})
	if err != nil {
		return agentscope.OAuthClient{}, fmt.Errorf("register OAuth client: %w", err)
	}
	return c, nil
}

// cleanOAuthClient checks a client's name and redirect URIs (each with
// agentscope.ValidateRedirectURI) and returns the URIs' JSON.
func cleanOAuthClient(c *agentscope.OAuthClient) (string, error) {
	if strings.TrimSpace(c.Name) != "" {
		var err error
		if c.Name, err = agentscope.CleanName("client_name", c.Name, agentscope.MaxNameLen); err != nil {
			return "", err
		}
	}
	if len(c.RedirectURIs) == 0 || len(c.RedirectURIs) > agentscope.MaxRedirectURIs {
		return "", agentscope.FieldErrorf("redirect_uris", "give 1 to %d redirect URIs", agentscope.MaxRedirectURIs)
	}
	for _, u := range c.RedirectURIs {
		if err := agentscope.ValidateRedirectURI(u); err != nil {
			return "", err
		}
	}
	uris, err := json.Marshal(c.RedirectURIs)
	return string(uris), err
}

// GetOAuthClient returns the client id, or ENOTFOUND.
func (s *Store) GetOAuthClient(ctx context.Context, id string) (agentscope.OAuthClient, error) {
	var (
		c       agentscope.OAuthClient
		uris    string
		created int64
	)
	err := s.queryRow(ctx, `SELECT id, name, redirect_uris, created_at FROM oauth_clients WHERE id = ?`, id).Scan(&c.ID, &c.Name, &uris, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, agentscope.Errorf(agentscope.ENOTFOUND, "OAuth client %q not found", id)
	} else if err != nil {
		return c, fmt.Errorf("get OAuth client: %w", err)
	}
	if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
		return c, fmt.Errorf("OAuth client %s: redirect_uris: %w", id, err)
	}
	c.CreatedAt = fromMicros(created)
	return c, nil
}

// CreateOAuthCode keeps an authorization code for c.Grant (OrgID,
// ClientID, Actor, UserID, Role, Scopes within ScopesForRole(Role),
// Resource), c.RedirectURI and c.CodeChallenge, expiring at c.ExpiresAt,
// and returns it with its credential, which goes to the client and is not
// kept. Expired codes are deleted on the way. An unknown organisation or
// client is ENOTFOUND.
func (s *Store) CreateOAuthCode(ctx context.Context, c agentscope.OAuthCode) (agentscope.OAuthCode, agentscope.Credential, error) {
	var cred agentscope.Credential
	g := &c.Grant
	scopes, err := agentscope.NormalizeScopes(g.Scopes)
	if err != nil {
		return agentscope.OAuthCode{}, cred, err
	}
	g.Scopes = scopes
	now := s.now()
	c.ExpiresAt = c.ExpiresAt.UTC().Truncate(time.Microsecond)
	switch {
	case !g.Role.Valid():
		return agentscope.OAuthCode{}, cred, agentscope.FieldErrorf("role", "unknown role %q", g.Role)
	case !scopesWithin(g.Scopes, agentscope.ScopesForRole(g.Role)):
		return agentscope.OAuthCode{}, cred, agentscope.Errorf(agentscope.EFORBIDDEN, "scopes %s exceed what the %s role may grant", agentscope.JoinScopes(g.Scopes), g.Role)
	case g.Actor == "" || g.Resource == "" || c.RedirectURI == "" || c.CodeChallenge == "":
		return agentscope.OAuthCode{}, cred, agentscope.Errorf(agentscope.EINVALID, "an authorization code needs its actor, resource, redirect URI and code challenge")
	case !c.ExpiresAt.After(now):
		return agentscope.OAuthCode{}, cred, agentscope.FieldErrorf("expires_at", "is not in the future")
	}
	c.ID = agentscope.NewOAuthCodeID()
	err = s.inTx(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `DELETE FROM oauth_codes WHERE expires_at < ?`, micros(now)); err != nil {
			return err
		}
		if err := s.lockOrg(ctx, t, g.OrgID); err != nil {
			return err
		}
		var n int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM oauth_clients WHERE id = ?`, g.ClientID).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return agentscope.Errorf(agentscope.ENOTFOUND, "OAuth client %q not found", g.ClientID)
		}
		if cred, err = s.freshCredential(ctx, t, agentscope.CredentialOAuthCode, `SELECT COUNT(*) FROM oauth_codes WHERE handle = ?`, handleOf); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO oauth_codes (id, handle, secret_hash, client_id, org_id, actor, user_id, role, scopes, resource, redirect_uri, code_challenge, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, cred.Handle, cred.Hash(), g.ClientID, g.OrgID, g.Actor, g.UserID, string(g.Role), agentscope.JoinScopes(g.Scopes), g.Resource, c.RedirectURI, c.CodeChallenge, micros(now), micros(c.ExpiresAt))
		return err
	})
	if err != nil {
		return agentscope.OAuthCode{}, agentscope.Credential{}, fmt.Errorf("create authorization code: %w", err)
	}
	return c, cred, nil
}

func scopesWithin(scopes, allowed []agentscope.Scope) bool {
	for _, sc := range scopes {
		if !slices.Contains(allowed, sc) {
			return false
		}
	}
	return true
}

// ExchangeOAuthCode uses an authorization code: check (the token
// endpoint's: client, redirect URI, PKCE verifier, resource) is given the
// code and may refuse it, leaving it unused. When it passes, the code is
// used up and its grant made, recorded as oauth.granted by the approver,
// with a first access and refresh token. A code that is malformed,
// unknown or expired is EUNAUTHORIZED; one used before is too, and the
// grant it was exchanged for is revoked (someone holds a copy).
func (s *Store) ExchangeOAuthCode(ctx context.Context, credential string, accessTTL, refreshTTL time.Duration, check func(agentscope.OAuthCode) error) (agentscope.OAuthTokens, error) {
	cred, err := agentscope.ParseCredential(credential)
	if err != nil || cred.Kind != agentscope.CredentialOAuthCode {
		return agentscope.OAuthTokens{}, errOAuthInvalid
	}
	var (
		out      agentscope.OAuthTokens
		replayed bool
	)
	err = s.inTx(ctx, func(t tx) error {
		var (
			c                  agentscope.OAuthCode
			hash, role, scopes string
			expires            int64
			used               sql.NullInt64
			grantID            sql.NullString
		)
		g := &c.Grant
		err := t.queryRow(ctx, `SELECT id, secret_hash, client_id, org_id, actor, user_id, role, scopes, resource, redirect_uri, code_challenge, expires_at, used_at, grant_id FROM oauth_codes WHERE handle = ?`+s.d.LockSuffix, cred.Handle).
			Scan(&c.ID, &hash, &g.ClientID, &g.OrgID, &g.Actor, &g.UserID, &role, &scopes, &g.Resource, &c.RedirectURI, &c.CodeChallenge, &expires, &used, &grantID)
		if errors.Is(err, sql.ErrNoRows) {
			return errOAuthInvalid
		} else if err != nil {
			return err
		}
		if !cred.Matches(hash) {
			return errOAuthInvalid
		}
		now := s.now()
		if used.Valid {
			replayed = true
			if grantID.Valid {
				return s.revokeOAuthGrant(ctx, t, g.OrgID, grantID.String, "oauth:"+grantID.String, "authorization code replayed")
			}
			return nil
		}
		c.ExpiresAt = fromMicros(expires)
		if !now.Before(c.ExpiresAt) {
			return errOAuthInvalid
		}
		g.Role = agentscope.Role(role)
		if g.Scopes, err = agentscope.ParseScopes(scopes); err != nil {
			return fmt.Errorf("authorization code %s: %w", c.ID, err)
		}
		if err := check(c); err != nil {
			return err
		}
		g.ID, g.CreatedAt = agentscope.NewOAuthGrantID(), now
		if _, err := t.exec(ctx, `INSERT INTO oauth_grants (id, org_id, client_id, actor, user_id, role, scopes, resource, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.OrgID, g.ClientID, g.Actor, g.UserID, role, scopes, g.Resource, micros(now)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE oauth_codes SET used_at = ?, grant_id = ? WHERE id = ?`, micros(now), g.ID, c.ID); err != nil {
			return err
		}
		if out, err = s.issueOAuthTokens(ctx, t, *g, now, accessTTL, refreshTTL); err != nil {
			return err
		}
		return s.audit(ctx, t, g.OrgID, g.Actor, agentscope.AuditOAuthGranted, g.ID, map[string]any{
			"client_id": g.ClientID, "scopes": g.Scopes, "resource": g.Resource})
	})
	if err != nil {
		return agentscope.OAuthTokens{}, fmt.Errorf("exchange authorization code: %w", err)
	}
	if replayed {
		return agentscope.OAuthTokens{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this authorization code was already used; the grant it gave is revoked")
	}
	return out, nil
}

// issueOAuthTokens makes an access and a refresh token of grant g, and
// deletes tokens that expired a day ago or more.
func (s *Store) issueOAuthTokens(ctx context.Context, t tx, g agentscope.OAuthGrant, now time.Time, accessTTL, refreshTTL time.Duration) (agentscope.OAuthTokens, error) {
	out := agentscope.OAuthTokens{Grant: g, AccessExpiresAt: now.Add(accessTTL), RefreshExpiresAt: now.Add(refreshTTL)}
	if _, err := t.exec(ctx, `DELETE FROM oauth_tokens WHERE expires_at < ?`, micros(now.Add(-24*time.Hour))); err != nil {
		return out, err
	}
	for _, tok := range []struct {
		kind    agentscope.CredentialKind
		column  string
		expires time.Time
		cred    *agentscope.Credential
	}{
		{agentscope.CredentialAccessToken, "access", out.AccessExpiresAt, &out.Access},
		{agentscope.CredentialRefreshToken, "refresh", out.RefreshExpiresAt, &out.Refresh},
	} {
		c, err := s.freshCredential(ctx, t, tok.kind, `SELECT COUNT(*) FROM oauth_tokens WHERE handle = ?`, handleOf)
		if err != nil {
			return out, err
		}
		if _, err := t.exec(ctx, `INSERT INTO oauth_tokens (id, kind, handle, secret_hash, grant_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			agentscope.NewOAuthTokenID(), tok.column, c.Handle, c.Hash(), g.ID, micros(now), micros(tok.expires)); err != nil {
			return out, err
		}
		*tok.cred = c
	}
	return out, nil
}

const oauthGrantCols = `g.id, g.org_id, g.client_id, (SELECT c.name FROM oauth_clients c WHERE c.id = g.client_id), g.actor, g.user_id, g.role, g.scopes, g.resource, g.created_at, g.revoked_at`

func scanOAuthGrant(sc scanner, extra ...any) (agentscope.OAuthGrant, error) {
	var (
		g            agentscope.OAuthGrant
		role, scopes string
		created      int64
		revoked      sql.NullInt64
	)
	if err := sc.Scan(append([]any{&g.ID, &g.OrgID, &g.ClientID, &g.ClientName, &g.Actor, &g.UserID, &role, &scopes, &g.Resource, &created, &revoked}, extra...)...); err != nil {
		return g, err
	}
	var err error
	if g.Scopes, err = agentscope.ParseScopes(scopes); err != nil {
		return g, fmt.Errorf("OAuth grant %s: %w", g.ID, err)
	}
	g.Role, g.CreatedAt, g.RevokedAt = agentscope.Role(role), fromMicros(created), optMicros(revoked)
	return g, nil
}

// RefreshOAuthGrant rotates a refresh token of client clientID: the token
// is used up and a new access and refresh token of its grant returned. A
// token that is malformed, unknown, expired, of another client or of a
// revoked grant is EUNAUTHORIZED; a token rotated before is too, and its
// whole grant is revoked (a copy of it is in other hands, RFC 9700 4.14).
// A person's grant is checked against their membership now: one who left
// the organisation, or whose role no longer allows the grant's scopes,
// has it revoked; a lower role that still allows them becomes the grant's
// role, so its tokens do no more than the person now may.
func (s *Store) RefreshOAuthGrant(ctx context.Context, credential, clientID string, accessTTL, refreshTTL time.Duration) (agentscope.OAuthTokens, error) {
	cred, err := agentscope.ParseCredential(credential)
	if err != nil || cred.Kind != agentscope.CredentialRefreshToken {
		return agentscope.OAuthTokens{}, errOAuthInvalid
	}
	var (
		out    agentscope.OAuthTokens
		reused bool
		lapsed string
	)
	err = s.inTx(ctx, func(t tx) error {
		var (
			tokenID, hash string
			expires       int64
			rotated       sql.NullInt64
		)
		g, err := scanOAuthGrant(t.queryRow(ctx, `SELECT `+oauthGrantCols+`, t.id, t.secret_hash, t.expires_at, t.rotated_at FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.handle = ? AND t.kind = 'refresh'`+s.d.LockSuffix, cred.Handle),
			&tokenID, &hash, &expires, &rotated)
		if errors.Is(err, sql.ErrNoRows) {
			return errOAuthInvalid
		} else if err != nil {
			return err
		}
		now := s.now()
		switch {
		case !cred.Matches(hash) || g.ClientID != clientID || g.RevokedAt != nil:
			return errOAuthInvalid
		case rotated.Valid:
			reused = true
			return s.revokeOAuthGrant(ctx, t, g.OrgID, g.ID, "oauth:"+g.ID, "refresh token reused")
		case !now.Before(fromMicros(expires)):
			return errOAuthInvalid
		}
		if g.UserID != "" {
			// The approver may have left the organisation or been given a
			// lower role since: a grant outlives neither.
			var role string
			err := t.queryRow(ctx, `SELECT role FROM memberships WHERE org_id = ? AND user_id = ?`, g.OrgID, g.UserID).Scan(&role)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				lapsed = "the person who approved it is no longer a member"
			case err != nil:
				return err
			case !scopesWithin(g.Scopes, agentscope.ScopesForRole(agentscope.Role(role))):
				lapsed = "the role of the person who approved it no longer allows its scopes"
			case !agentscope.Role(role).AtLeast(g.Role):
				g.Role = agentscope.Role(role)
				if _, err := t.exec(ctx, `UPDATE oauth_grants SET role = ? WHERE id = ?`, role, g.ID); err != nil {
					return err
				}
			}
			if lapsed != "" {
				return s.revokeOAuthGrant(ctx, t, g.OrgID, g.ID, "oauth:"+g.ID, lapsed)
			}
		}
		if _, err := t.exec(ctx, `UPDATE oauth_tokens SET rotated_at = ? WHERE id = ?`, micros(now), tokenID); err != nil {
			return err
		}
		out, err = s.issueOAuthTokens(ctx, t, g, now, accessTTL, refreshTTL)
		return err
	})
	if err != nil {
		return agentscope.OAuthTokens{}, fmt.Errorf("refresh OAuth grant: %w", err)
	}
	if reused {
		return agentscope.OAuthTokens{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this refresh token was already used; its grant is revoked")
	}
	if lapsed != "" {
		return agentscope.OAuthTokens{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this grant is revoked: %s; authorize again", lapsed)
	}
	return out, nil
}

// revokeOAuthGrant ends grant id of orgID, recorded by actor with why.
// Revoking a revoked grant changes nothing.
func (s *Store) revokeOAuthGrant(ctx context.Context, t tx, orgID, id, actor, why string) error {
	res, err := t.exec(ctx, `UPDATE oauth_grants SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL`, micros(s.now()), orgID, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	return s.audit(ctx, t, orgID, actor, agentscope.AuditOAuthRevoked, id, map[string]any{"reason": why})
}

// RevokeOAuthToken ends the grant of an access or refresh token (RFC
// 7009; revoking either ends both, and every other token of the grant).
// Whoever holds a token may revoke it. A credential that is no token of
// ours, or of a revoked grant, changes nothing and is no error, as RFC
// 7009 2.2 asks.
func (s *Store) RevokeOAuthToken(ctx context.Context, credential string) error {
	cred, err := agentscope.ParseCredential(credential)
	if err != nil || (cred.Kind != agentscope.CredentialAccessToken && cred.Kind != agentscope.CredentialRefreshToken) {
		return nil
	}
	err = s.inTx(ctx, func(t tx) error {
		var orgID, grantID, hash string
		err := t.queryRow(ctx, `SELECT g.org_id, g.id, t.secret_hash FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.handle = ?`, cred.Handle).Scan(&orgID, &grantID, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if !cred.Matches(hash) {
			return nil
		}
		return s.revokeOAuthGrant(ctx, t, orgID, grantID, "oauth:"+grantID, "revoked by its client")
	})
	if err != nil {
		return fmt.Errorf("revoke OAuth token: %w", err)
	}
	return nil
}

// OAuthAccessToken returns the access token with this handle, its grant
// and its Hash, whatever its state: it is the authenticator's lookup,
// which then checks the secret, the expiry and the grant. ENOTFOUND when
// no access token has the handle.
func (s *Store) OAuthAccessToken(ctx context.Context, handle string) (agentscope.OAuthAccess, error) {
	var (
		a       agentscope.OAuthAccess
		expires int64
		err     error
	)
	a.Grant, err = scanOAuthGrant(s.queryRow(ctx, `SELECT `+oauthGrantCols+`, t.id, t.secret_hash, t.expires_at FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.handle = ? AND t.kind = 'access'`, handle),
		&a.TokenID, &a.Hash, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return a, agentscope.Errorf(agentscope.ENOTFOUND, "no access token has this handle")
	} else if err != nil {
		return a, fmt.Errorf("find access token: %w", err)
	}
	a.ExpiresAt = fromMicros(expires)
	return a, nil
}

// ListOAuthGrants returns the organisation's grants, revoked ones
// included, oldest first.
func (s *Store) ListOAuthGrants(ctx context.Context, orgID string) ([]agentscope.OAuthGrant, error) {
	return queryAll(ctx, s, "list OAuth grants", func(sc scanner) (agentscope.OAuthGrant, error) { return scanOAuthGrant(sc) },
		`SELECT `+oauthGrantCols+` FROM oauth_grants g WHERE g.org_id = ? ORDER BY g.created_at, g.id`, orgID)
}

// RevokeOAuthGrant ends the organisation's grant id and every token of
// it, recorded by actor. Revoking a revoked grant changes nothing;
// another organisation's grant is ENOTFOUND.
func (s *Store) RevokeOAuthGrant(ctx context.Context, orgID, id, actor string) error {
	err := s.inTx(ctx, func(t tx) error {
		var n int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM oauth_grants WHERE org_id = ? AND id = ?`, orgID, id).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return agentscope.Errorf(agentscope.ENOTFOUND, "OAuth grant %q not found", id)
		}
		return s.revokeOAuthGrant(ctx, t, orgID, id, actor, "revoked")
	})
	if err != nil {
		return fmt.Errorf("revoke OAuth grant: %w", err)
	}
	return nil
}

// PutOAuthClient keeps a client whose id is its Client ID Metadata
// Document's URL (an https URL the authorization server fetched the
// document from): made the first time, its name and redirect URIs
// replaced by the document's each time after.
func (s *Store) PutOAuthClient(ctx context.Context, c agentscope.OAuthClient) (agentscope.OAuthClient, error) {
	if !strings.HasPrefix(c.ID, "https://") {
		return agentscope.OAuthClient{}, agentscope.FieldErrorf("client_id", "a metadata document's client id is an https URL")
	}
	uris, err := cleanOAuthClient(&c)
	if err != nil {
		return agentscope.OAuthClient{}, err
	}
	c.CreatedAt = s.now()
	if _, err := s.write.ExecContext(ctx, s.d.rebind(`INSERT INTO oauth_clients (id, name, redirect_uris, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, redirect_uris = excluded.redirect_uris`),
		c.ID, c.Name, uris, micros(c.CreatedAt)); err != nil {
		return agentscope.OAuthClient{}, fmt.Errorf("keep OAuth client: %w", err)
	}
	return s.GetOAuthClient(ctx, c.ID)
}
