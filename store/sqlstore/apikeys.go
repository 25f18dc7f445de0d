package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// API keys (api_keys). The key's secret is never stored: only the SHA-256
// of it (agentscope.Credential.Hash) and its prefix, which finds it when it
// signs in.

const apiKeyCols = `org_id, id, name, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at`

func scanAPIKey(sc scanner, extra ...any) (agentscope.APIKey, error) {
	var (
		k                          agentscope.APIKey
		scopes                     string
		created                    int64
		expires, lastUsed, revoked sql.NullInt64
	)
	if err := sc.Scan(append([]any{&k.OrgID, &k.ID, &k.Name, &k.Prefix, &scopes, &k.CreatedBy, &created, &expires, &lastUsed, &revoked}, extra...)...); err != nil {
		return k, err
	}
	var err error
	if k.Scopes, err = agentscope.ParseScopes(scopes); err != nil {
		return k, fmt.Errorf("api key %s: %w", k.ID, err)
	}
	k.CreatedAt = fromMicros(created)
	k.ExpiresAt, k.LastUsedAt, k.RevokedAt = optMicros(expires), optMicros(lastUsed), optMicros(revoked)
	return k, nil
}

func optMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func apiKeyNotFound(id string) error {
	return agentscope.Errorf(agentscope.ENOTFOUND, "API key %q not found", id)
}

// CreateAPIKey makes a key for k.OrgID with k.Name, k.Scopes, k.CreatedBy
// (the audit actor) and an optional k.ExpiresAt, records key.created, and
// returns the key with its credential: the only time the credential
// exists outside the caller's hands. An unknown organisation is ENOTFOUND.
func (s *Store) CreateAPIKey(ctx context.Context, k agentscope.APIKey) (agentscope.APIKey, agentscope.Credential, error) {
	var (
		err  error
		cred agentscope.Credential
	)
	if k.Name, err = agentscope.CleanName("name", k.Name, agentscope.MaxNameLen); err != nil {
		return agentscope.APIKey{}, cred, err
	}
	if k.Scopes, err = agentscope.NormalizeScopes(k.Scopes); err != nil {
		return agentscope.APIKey{}, cred, err
	}
	now := s.now()
	if k.ExpiresAt != nil {
		at := k.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !at.After(now) {
			return agentscope.APIKey{}, cred, agentscope.FieldErrorf("expires_at", "is not in the future")
		}
		k.ExpiresAt = &at
	}
	if k.CreatedBy == "" {
		return agentscope.APIKey{}, cred, agentscope.Errorf(agentscope.EINVALID, "an API key needs the actor that creates it")
	}
	k.ID, k.CreatedAt, k.LastUsedAt, k.RevokedAt = agentscope.NewAPIKeyID(), now, nil, nil
	err = s.inTx(ctx, func(t tx) error {
		if err := s.lockOrg(ctx, t, k.OrgID); err != nil {
			return err
		}
		if cred, err = s.freshCredential(ctx, t, agentscope.CredentialAPIKey, `SELECT COUNT(*) FROM api_keys WHERE prefix = ?`, prefixOf); err != nil {
			return err
		}
		k.Prefix = cred.Prefix()
		if _, err := t.exec(ctx, `INSERT INTO api_keys (`+apiKeyCols+`, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
			k.OrgID, k.ID, k.Name, k.Prefix, agentscope.JoinScopes(k.Scopes), k.CreatedBy, micros(now), nullMicros(k.ExpiresAt), cred.Hash()); err != nil {
			return err
		}
		return s.audit(ctx, t, k.OrgID, k.CreatedBy, agentscope.AuditKeyCreated, k.ID, map[string]any{
			"name": k.Name, "prefix": k.Prefix, "scopes": k.Scopes, "expires_at": k.ExpiresAt})
	})
	if err != nil {
		return agentscope.APIKey{}, agentscope.Credential{}, fmt.Errorf("create API key: %w", err)
	}
	return k, cred, nil
}

func prefixOf(c agentscope.Credential) string { return c.Prefix() }

func handleOf(c agentscope.Credential) string { return c.Handle }

// freshCredential makes a credential of kind whose lookup value (what
// column gives of it) no row has yet: exists counts the rows holding it.
// The handle is 48 random bits, so a repeat is rare but possible among
// millions of keys; it is drawn again rather than failing the insert.
func (s *Store) freshCredential(ctx context.Context, t tx, kind agentscope.CredentialKind, exists string, column func(agentscope.Credential) string) (agentscope.Credential, error) {
	for range 4 {
		c := agentscope.NewCredential(kind)
		var n int
		if err := t.queryRow(ctx, exists, column(c)).Scan(&n); err != nil {
			return c, err
		}
		if n == 0 {
			return c, nil
		}
	}
	return agentscope.Credential{}, errors.New("no unused credential handle in 4 draws")
}

// GetAPIKey returns the organisation's key id, or ENOTFOUND.
func (s *Store) GetAPIKey(ctx context.Context, orgID, id string) (agentscope.APIKey, error) {
	k, err := scanAPIKey(s.queryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE org_id = ? AND id = ?`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, apiKeyNotFound(id)
	} else if err != nil {
		return k, fmt.Errorf("get API key %s: %w", id, err)
	}
	return k, nil
}

// ListAPIKeys returns the organisation's keys, revoked ones included,
// oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string) ([]agentscope.APIKey, error) {
	return queryAll(ctx, s, "list API keys", func(sc scanner) (agentscope.APIKey, error) { return scanAPIKey(sc) },
		`SELECT `+apiKeyCols+` FROM api_keys WHERE org_id = ? ORDER BY created_at, id`, orgID)
}

// RevokeAPIKey stops the organisation's key id from signing in, recorded
// by actor, and returns it. Revoking a revoked key changes nothing; another
// organisation's key is ENOTFOUND.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, id, actor string) (agentscope.APIKey, error) {
	var k agentscope.APIKey
	err := s.inTx(ctx, func(t tx) error {
		var err error
		k, err = scanAPIKey(t.queryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE org_id = ? AND id = ?`+s.d.LockSuffix, orgID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return apiKeyNotFound(id)
		} else if err != nil || k.RevokedAt != nil {
			return err
		}
		now := s.now()
		k.RevokedAt = &now
		if _, err := t.exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND id = ?`, micros(now), orgID, id); err != nil {
			return err
		}
		return s.audit(ctx, t, orgID, actor, agentscope.AuditKeyRevoked, id, map[string]any{"name": k.Name, "prefix": k.Prefix})
	})
	if err != nil {
		return agentscope.APIKey{}, fmt.Errorf("revoke API key: %w", err)
	}
	return k, nil
}

// APIKeyByPrefix returns the key whose credential has this prefix, with
// its Hash, whatever its organisation, revoked and expired keys included:
// it is the authenticator's lookup, which then checks the secret against
// Hash and the key's state. ENOTFOUND when no key has the prefix.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (agentscope.APIKey, error) {
	var hash string
	k, err := scanAPIKey(s.queryRow(ctx, `SELECT `+apiKeyCols+`, secret_hash FROM api_keys WHERE prefix = ?`, prefix), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return k, agentscope.Errorf(agentscope.ENOTFOUND, "no API key has this prefix")
	} else if err != nil {
		return k, fmt.Errorf("find API key: %w", err)
	}
	k.Hash = hash
	return k, nil
}

// APIKeyOrg returns the organisation of key id. It crosses organisations,
// so it is for operators acting on the database (agentscope keys revoke),
// never for a caller acting in one organisation.
func (s *Store) APIKeyOrg(ctx context.Context, id string) (string, error) {
	var org string
	err := s.queryRow(ctx, `SELECT org_id FROM api_keys WHERE id = ?`, id).Scan(&org)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apiKeyNotFound(id)
	} else if err != nil {
		return "", fmt.Errorf("find API key %s: %w", id, err)
	}
	return org, nil
}

// TouchAPIKey sets the key's last_used_at to at unless it is already less
// than every before at, so a key in steady use costs one write per
// interval, not one per request. It reports whether it wrote.
func (s *Store) TouchAPIKey(ctx context.Context, orgID, id string, at time.Time, every time.Duration) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.d.rebind(`UPDATE api_keys SET last_used_at = ? WHERE org_id = ? AND id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`),
		micros(at), orgID, id, micros(at.Add(-every)))
	if err != nil {
		return false, fmt.Errorf("touch API key %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
