package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// Email tokens (email_tokens): sign-in links and invitations. Each is used
// at most once, only before it expires and only for the address it was
// sent to. Consuming one is a conditional update (used_at IS NULL) whose
// affected row count decides which of two concurrent consumers wins.

const emailTokenCols = `id, kind, org_id, role, email, created_by, created_at, expires_at, used_at`

func scanEmailToken(sc scanner, extra ...any) (agentscope.EmailToken, error) {
	var (
		e                agentscope.EmailToken
		kind, role       string
		org              sql.NullString
		created, expires int64
		used             sql.NullInt64
	)
	err := sc.Scan(append([]any{&e.ID, &kind, &org, &role, &e.Email, &e.CreatedBy, &created, &expires, &used}, extra...)...)
	e.Kind, e.OrgID, e.Role = agentscope.EmailTokenKind(kind), org.String, agentscope.Role(role)
	e.CreatedAt, e.ExpiresAt, e.UsedAt = fromMicros(created), fromMicros(expires), optMicros(used)
	return e, err
}

// CreateEmailToken makes a single-use link of e.Kind for e.Email, expiring
// at e.ExpiresAt, made by e.CreatedBy; an invitation also needs e.OrgID
// (ENOTFOUND when unknown) and e.Role, and is recorded in that
// organisation's audit log. It returns the token and its credential, which
// is mailed and not kept. Tokens past their expiry are deleted on the way.
func (s *Store) CreateEmailToken(ctx context.Context, e agentscope.EmailToken) (agentscope.EmailToken, agentscope.Credential, error) {
	var (
		cred agentscope.Credential
		err  error
	)
	if e.Email, err = agentscope.NormalizeEmail(e.Email); err != nil {
		return agentscope.EmailToken{}, cred, err
	}
	now := s.now()
	e.ExpiresAt = e.ExpiresAt.UTC().Truncate(time.Microsecond)
	switch {
	case e.Kind != agentscope.EmailSignIn && e.Kind != agentscope.EmailInvitation:
		return agentscope.EmailToken{}, cred, agentscope.FieldErrorf("kind", "must be sign_in or invitation")
	case !e.ExpiresAt.After(now):
		return agentscope.EmailToken{}, cred, agentscope.FieldErrorf("expires_at", "is not in the future")
	case e.CreatedBy == "":
		return agentscope.EmailToken{}, cred, agentscope.Errorf(agentscope.EINVALID, "an email token needs the actor that creates it")
	case e.Kind == agentscope.EmailInvitation && !e.Role.Valid():
		return agentscope.EmailToken{}, cred, agentscope.FieldErrorf("role", "unknown role %q: want viewer, member, admin or owner", e.Role)
	case e.Kind == agentscope.EmailSignIn && (e.OrgID != "" || e.Role != ""):
		return agentscope.EmailToken{}, cred, agentscope.Errorf(agentscope.EINVALID, "a sign-in link has no organisation or role")
	}
	e.ID, e.CreatedAt, e.UsedAt = agentscope.NewEmailTokenID(), now, nil
	err = s.inTx(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `DELETE FROM email_tokens WHERE expires_at < ?`, micros(now)); err != nil {
			return err
		}
		var org any
		if e.Kind == agentscope.EmailInvitation {
			if err := s.lockOrg(ctx, t, e.OrgID); err != nil {
				return err
			}
			org = e.OrgID
		}
		if cred, err = s.freshCredential(ctx, t, e.Kind.CredentialKind(), `SELECT COUNT(*) FROM email_tokens WHERE handle = ?`, handleOf); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO email_tokens (`+emailTokenCols+`, handle, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
			e.ID, string(e.Kind), org, string(e.Role), e.Email, e.CreatedBy, micros(now), micros(e.ExpiresAt), cred.Handle, cred.Hash()); err != nil {
			return err
		}
		if e.Kind != agentscope.EmailInvitation {
			return nil
		}
		return s.audit(ctx, t, e.OrgID, e.CreatedBy, agentscope.AuditInvitationCreated, e.ID, map[string]any{
			"email": e.Email, "role": e.Role, "expires_at": e.ExpiresAt})
	})
	if err != nil {
		return agentscope.EmailToken{}, agentscope.Credential{}, fmt.Errorf("create %s link: %w", e.Kind, err)
	}
	return e, cred, nil
}

// ConsumeSignInLink uses a sign-in link's credential and returns its
// token, whose Email the holder has shown they read. A credential that is
// malformed, of another kind, unknown, used or expired is EUNAUTHORIZED;
// of two concurrent consumers exactly one succeeds.
func (s *Store) ConsumeSignInLink(ctx context.Context, credential string) (agentscope.EmailToken, error) {
	var e agentscope.EmailToken
	err := s.inTx(ctx, func(t tx) (err error) {
		e, err = s.consumeEmailToken(ctx, t, agentscope.EmailSignIn, credential, "")
		return err
	})
	if err != nil {
		return agentscope.EmailToken{}, fmt.Errorf("sign in by link: %w", err)
	}
	return e, nil
}

// AcceptInvitation uses an invitation's credential for the user, who must
// have the address it was sent to (EFORBIDDEN otherwise, and the
// invitation stays unused), and makes them a member with its role. A user
// who is a member already keeps their role. Refusals are as for
// ConsumeSignInLink.
func (s *Store) AcceptInvitation(ctx context.Context, credential, userID string) (agentscope.Membership, error) {
	var m agentscope.Membership
	err := s.inTx(ctx, func(t tx) error {
		u, err := scanUser(t.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return userNotFound(userID)
		} else if err != nil {
			return err
		}
		e, err := s.consumeEmailToken(ctx, t, agentscope.EmailInvitation, credential, u.Email)
		if err != nil {
			return err
		}
		if err := s.lockOrg(ctx, t, e.OrgID); err != nil {
			return err
		}
		actor := agentscope.Principal{Kind: agentscope.PrincipalUser, UserID: userID}.Actor()
		if err := s.audit(ctx, t, e.OrgID, actor, agentscope.AuditInvitationAccepted, e.ID, map[string]any{"email": e.Email, "role": e.Role}); err != nil {
			return err
		}
		m, err = scanMembership(t.queryRow(ctx, `SELECT `+membershipCols+` FROM memberships WHERE org_id = ? AND user_id = ?`, e.OrgID, userID))
		if errors.Is(err, sql.ErrNoRows) {
			m, err = s.addMember(ctx, t, e.OrgID, userID, e.Role, actor)
		}
		return err
	})
	if err != nil {
		return agentscope.Membership{}, fmt.Errorf("accept invitation: %w", err)
	}
	return m, nil
}

// PendingEmailToken returns the token of a credential of kind that could
// be used now, without using it: for a page that asks the holder to
// confirm (a mail scanner following the link must not spend it), and to
// learn an invitation's address before the holder signs in. Refusals are
// as for ConsumeSignInLink.
func (s *Store) PendingEmailToken(ctx context.Context, kind agentscope.EmailTokenKind, credential string) (agentscope.EmailToken, error) {
	var e agentscope.EmailToken
	err := s.inTx(ctx, func(t tx) (err error) {
		e, err = s.checkEmailToken(ctx, t, kind, credential, "")
		return err
	})
	if err != nil {
		return agentscope.EmailToken{}, fmt.Errorf("read %s link: %w", kind, err)
	}
	return e, nil
}

// consumeEmailToken marks the token of credential used, inside t, and
// returns it. email, when set, must be the token's address.
func (s *Store) consumeEmailToken(ctx context.Context, t tx, kind agentscope.EmailTokenKind, credential, email string) (agentscope.EmailToken, error) {
	e, err := s.checkEmailToken(ctx, t, kind, credential, email)
	if err != nil {
		return e, err
	}
	now := s.now()
	res, err := t.exec(ctx, `UPDATE email_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL`, micros(now), e.ID)
	if err != nil {
		return e, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return e, err
	} else if n != 1 {
		return e, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this link was used already")
	}
	e.UsedAt = &now
	return e, nil
}

// checkEmailToken finds the token of credential and checks that it may be
// used now, by email when set.
func (s *Store) checkEmailToken(ctx context.Context, t tx, kind agentscope.EmailTokenKind, credential, email string) (agentscope.EmailToken, error) {
	invalid := agentscope.Errorf(agentscope.EUNAUTHORIZED, "this link is not valid")
	c, err := agentscope.ParseCredential(credential)
	if err != nil || c.Kind != kind.CredentialKind() {
		return agentscope.EmailToken{}, invalid
	}
	var hash string
	e, err := scanEmailToken(t.queryRow(ctx, `SELECT `+emailTokenCols+`, secret_hash FROM email_tokens WHERE handle = ?`, c.Handle), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return e, invalid
	} else if err != nil {
		return e, err
	}
	// Past this check the caller holds the secret, so it may be told
	// exactly why the link does not work.
	now := s.now()
	switch {
	case !c.Matches(hash) || e.Kind != kind:
		return e, invalid
	case e.UsedAt != nil:
		return e, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this link was used already")
	case !now.Before(e.ExpiresAt):
		return e, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this link has expired")
	case email != "" && email != e.Email:
		return e, agentscope.Errorf(agentscope.EFORBIDDEN, "this invitation was sent to another address")
	}
	return e, nil
}

// ListInvitations returns the organisation's invitations that are neither
// used nor expired, oldest first.
func (s *Store) ListInvitations(ctx context.Context, orgID string) ([]agentscope.EmailToken, error) {
	return queryAll(ctx, s, "list invitations", func(sc scanner) (agentscope.EmailToken, error) { return scanEmailToken(sc) },
		`SELECT `+emailTokenCols+` FROM email_tokens WHERE org_id = ? AND kind = ? AND used_at IS NULL AND expires_at > ? ORDER BY created_at, id`,
		orgID, string(agentscope.EmailInvitation), micros(s.now()))
}

// RevokeInvitation withdraws the organisation's unused invitation id,
// recorded by actor; another organisation's, or a used one, is ENOTFOUND.
func (s *Store) RevokeInvitation(ctx context.Context, orgID, id, actor string) error {
	err := s.inTx(ctx, func(t tx) error {
		e, err := scanEmailToken(t.queryRow(ctx, `SELECT `+emailTokenCols+` FROM email_tokens WHERE org_id = ? AND id = ? AND kind = ? AND used_at IS NULL`,
			orgID, id, string(agentscope.EmailInvitation)))
		if errors.Is(err, sql.ErrNoRows) {
			return agentscope.Errorf(agentscope.ENOTFOUND, "invitation %q not found", id)
		} else if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM email_tokens WHERE org_id = ? AND id = ? AND used_at IS NULL`, orgID, id); err != nil {
			return err
		}
		return s.audit(ctx, t, orgID, actor, agentscope.AuditInvitationRevoked, id, map[string]any{"email": e.Email, "role": e.Role})
	})
	if err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	return nil
}
