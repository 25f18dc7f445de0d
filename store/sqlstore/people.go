package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentscope/agentscope"
)

// Organisations (orgs), users and memberships. Everything an organisation
// owns is read and changed with its id in the WHERE clause, so another
// organisation's object answers exactly as a missing one.

func orgNotFound(id string) error {
	return agentscope.Errorf(agentscope.ENOTFOUND, "organisation %q not found", id)
}

func userNotFound(id string) error {
	return agentscope.Errorf(agentscope.ENOTFOUND, "user %q not found", id)
}

func memberNotFound(userID string) error {
	return agentscope.Errorf(agentscope.ENOTFOUND, "member %q not found", userID)
}

// CreateOrg stores a new organisation named name with a fresh id, and
// records org.created by actor in its audit log.
func (s *Store) CreateOrg(ctx context.Context, name, actor string) (agentscope.Org, error) {
	var o agentscope.Org
	err := s.inTx(ctx, func(t tx) (err error) {
		o, err = s.createOrg(ctx, t, name, actor)
		return err
	})
	if err != nil {
		return agentscope.Org{}, fmt.Errorf("create organisation: %w", err)
	}
	return o, nil
}

func (s *Store) createOrg(ctx context.Context, t tx, name, actor string) (agentscope.Org, error) {
	name, err := agentscope.CleanName("name", name, agentscope.MaxNameLen)
	if err != nil {
		return agentscope.Org{}, err
	}
	o := agentscope.Org{ID: agentscope.NewOrgID(), Name: name, CreatedAt: s.now()}
	if _, err := t.exec(ctx, `INSERT INTO orgs (id, name, created_at, plan) VALUES (?, ?, ?, ?)`, o.ID, o.Name, micros(o.CreatedAt), s.defaultPlan()); err != nil {
		return agentscope.Org{}, err
	}
	return o, s.audit(ctx, t, o.ID, actor, agentscope.AuditOrgCreated, o.ID, map[string]any{"name": o.Name})
}

// GetOrg returns the organisation id, or ENOTFOUND.
func (s *Store) GetOrg(ctx context.Context, id string) (agentscope.Org, error) {
	o, err := scanOrg(s.queryRow(ctx, `SELECT id, name, created_at FROM orgs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, orgNotFound(id)
	} else if err != nil {
		return o, fmt.Errorf("get organisation %s: %w", id, err)
	}
	return o, nil
}

// ListOrgs returns every organisation, oldest first. It crosses
// organisations, so it is for operators acting on the database (agentscope
// orgs list), never for a caller acting in one organisation.
func (s *Store) ListOrgs(ctx context.Context) ([]agentscope.Org, error) {
	return queryAll(ctx, s, "list organisations", func(sc scanner) (agentscope.Org, error) { return scanOrg(sc) },
		`SELECT id, name, created_at FROM orgs ORDER BY created_at, id`)
}

// scanOrg reads id, name and created_at, then extra.
func scanOrg(sc scanner, extra ...any) (agentscope.Org, error) {
	var (
		o  agentscope.Org
		at int64
	)
	err := sc.Scan(append([]any{&o.ID, &o.Name, &at}, extra...)...)
	o.CreatedAt = fromMicros(at)
	return o, err
}

// lockOrg checks that the organisation exists and, on Postgres, locks its
// row until the transaction ends, so changes to its members are serialised
// (two owners demoting each other at once cannot leave it without one).
func (s *Store) lockOrg(ctx context.Context, t tx, orgID string) error {
	var id string
	err := t.queryRow(ctx, `SELECT id FROM orgs WHERE id = ?`+s.d.LockSuffix, orgID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return orgNotFound(orgID)
	}
	return err
}

// CreateUser stores u (Email and Name) as a new user with a fresh id, or
// answers ECONFLICT if a user has the address.
func (s *Store) CreateUser(ctx context.Context, u agentscope.User) (agentscope.User, error) {
	err := s.inTx(ctx, func(t tx) (err error) {
		u, err = s.createUser(ctx, t, u)
		return err
	})
	if err != nil {
		return agentscope.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

func (s *Store) createUser(ctx context.Context, t tx, u agentscope.User) (agentscope.User, error) {
	email, err := agentscope.NormalizeEmail(u.Email)
	if err != nil {
		return u, err
	}
	name, err := agentscope.CleanName("name", u.Name, agentscope.MaxNameLen)
	if err != nil {
		return u, err
	}
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE email = ?`, email).Scan(&n); err != nil {
		return u, err
	} else if n > 0 {
		return u, agentscope.Errorf(agentscope.ECONFLICT, "a user with this address exists")
	}
	u = agentscope.User{ID: agentscope.NewUserID(), Email: email, Name: name, CreatedAt: s.now()}
	_, err = t.exec(ctx, `INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)`, u.ID, u.Email, u.Name, micros(u.CreatedAt))
	return u, err
}

// CreateUserWithOrg is a first sign-in: in one transaction it creates the
// user, an organisation named orgName and the user's owner membership of
// it.
func (s *Store) CreateUserWithOrg(ctx context.Context, u agentscope.User, orgName string) (agentscope.User, agentscope.Org, error) {
	var o agentscope.Org
	err := s.inTx(ctx, func(t tx) (err error) {
		if u, err = s.createUser(ctx, t, u); err != nil {
			return err
		}
		actor := agentscope.Principal{Kind: agentscope.PrincipalUser, UserID: u.ID}.Actor()
		if o, err = s.createOrg(ctx, t, orgName, actor); err != nil {
			return err
		}
		_, err = s.addMember(ctx, t, o.ID, u.ID, agentscope.RoleOwner, actor)
		return err
	})
	if err != nil {
		return agentscope.User{}, agentscope.Org{}, fmt.Errorf("create user and organisation: %w", err)
	}
	return u, o, nil
}

const userCols = `id, email, name, created_at`

func scanUser(sc scanner) (agentscope.User, error) {
	var (
		u  agentscope.User
		at int64
	)
	err := sc.Scan(&u.ID, &u.Email, &u.Name, &at)
	u.CreatedAt = fromMicros(at)
	return u, err
}

// GetUser returns the user id, or ENOTFOUND.
func (s *Store) GetUser(ctx context.Context, id string) (agentscope.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, userNotFound(id)
	} else if err != nil {
		return u, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// UserByEmail returns the user with the address (in any case), or
// ENOTFOUND.
func (s *Store) UserByEmail(ctx context.Context, email string) (agentscope.User, error) {
	norm, err := agentscope.NormalizeEmail(email)
	if err != nil {
		return agentscope.User{}, err
	}
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, norm))
	if errors.Is(err, sql.ErrNoRows) {
		return u, agentscope.Errorf(agentscope.ENOTFOUND, "no user with this address")
	} else if err != nil {
		return u, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

const membershipCols = `org_id, user_id, role, created_at, updated_at`

func scanMembership(sc scanner, extra ...any) (agentscope.Membership, error) {
	var (
		m                agentscope.Membership
		role             string
		created, updated int64
	)
	err := sc.Scan(append([]any{&m.OrgID, &m.UserID, &role, &created, &updated}, extra...)...)
	m.Role, m.CreatedAt, m.UpdatedAt = agentscope.Role(role), fromMicros(created), fromMicros(updated)
	return m, err
}

// AddMember makes the user a member of the organisation with role,
// recorded by actor. It answers ENOTFOUND for an unknown organisation or
// user and ECONFLICT if the user is a member already.
func (s *Store) AddMember(ctx context.Context, orgID, userID string, role agentscope.Role, actor string) (agentscope.Membership, error) {
	var m agentscope.Membership
	err := s.inTx(ctx, func(t tx) (err error) {
		if err := s.lockOrg(ctx, t, orgID); err != nil {
			return err
		}
		m, err = s.addMember(ctx, t, orgID, userID, role, actor)
		return err
	})
	if err != nil {
		return agentscope.Membership{}, fmt.Errorf("add member: %w", err)
	}
	return m, nil
}

func (s *Store) addMember(ctx context.Context, t tx, orgID, userID string, role agentscope.Role, actor string) (agentscope.Membership, error) {
	if !role.Valid() {
		return agentscope.Membership{}, agentscope.FieldErrorf("role", "unknown role %q: want viewer, member, admin or owner", role)
	}
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE id = ?`, userID).Scan(&n); err != nil {
		return agentscope.Membership{}, err
	} else if n == 0 {
		return agentscope.Membership{}, userNotFound(userID)
	}
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM memberships WHERE org_id = ? AND user_id = ?`, orgID, userID).Scan(&n); err != nil {
		return agentscope.Membership{}, err
	} else if n > 0 {
		return agentscope.Membership{}, agentscope.Errorf(agentscope.ECONFLICT, "user %q is a member already", userID)
	}
	now := s.now()
	m := agentscope.Membership{OrgID: orgID, UserID: userID, Role: role, CreatedAt: now, UpdatedAt: now}
	if _, err := t.exec(ctx, `INSERT INTO memberships (`+membershipCols+`) VALUES (?, ?, ?, ?, ?)`, orgID, userID, string(role), micros(now), micros(now)); err != nil {
		return m, err
	}
	return m, s.audit(ctx, t, orgID, actor, agentscope.AuditMemberAdded, userID, map[string]any{"role": role})
}

// GetMembership returns the user's membership of the organisation, or
// ENOTFOUND.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (agentscope.Membership, error) {
	m, err := scanMembership(s.queryRow(ctx, `SELECT `+membershipCols+` FROM memberships WHERE org_id = ? AND user_id = ?`, orgID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, memberNotFound(userID)
	} else if err != nil {
		return m, fmt.Errorf("get membership: %w", err)
	}
	return m, nil
}

// ListMembers returns the organisation's members with their addresses and
// names, by address.
func (s *Store) ListMembers(ctx context.Context, orgID string) ([]agentscope.Member, error) {
	return queryAll(ctx, s, "list members", func(sc scanner) (mem agentscope.Member, err error) {
		mem.Membership, err = scanMembership(sc, &mem.Email, &mem.Name)
		return mem, err
	}, `SELECT m.org_id, m.user_id, m.role, m.created_at, m.updated_at, u.email, u.name
		FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY u.email`, orgID)
}

// ListUserOrgs returns the organisations the user belongs to with the
// user's role in each, by name.
func (s *Store) ListUserOrgs(ctx context.Context, userID string) ([]agentscope.UserOrg, error) {
	return queryAll(ctx, s, "list user's organisations", func(sc scanner) (uo agentscope.UserOrg, err error) {
		var role string
		uo.Org, err = scanOrg(sc, &role)
		uo.Role = agentscope.Role(role)
		return uo, err
	}, `SELECT o.id, o.name, o.created_at, m.role
		FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ? ORDER BY o.name, o.id`, userID)
}

// SetMemberRole changes a member's role, recorded by actor. It answers
// ENOTFOUND for a user who is not a member of the organisation and
// ECONFLICT when the change would leave the organisation without an owner.
func (s *Store) SetMemberRole(ctx context.Context, orgID, userID string, role agentscope.Role, actor string) (agentscope.Membership, error) {
	if !role.Valid() {
		return agentscope.Membership{}, agentscope.FieldErrorf("role", "unknown role %q: want viewer, member, admin or owner", role)
	}
	var m agentscope.Membership
	err := s.inTx(ctx, func(t tx) error {
		old, err := s.lockedMembership(ctx, t, orgID, userID)
		if err != nil {
			return err
		}
		if old.Role == role {
			m = old
			return nil
		}
		if err := s.keepAnOwner(ctx, t, old); err != nil {
			return err
		}
		m = old
		m.Role, m.UpdatedAt = role, s.now()
		if _, err := t.exec(ctx, `UPDATE memberships SET role = ?, updated_at = ? WHERE org_id = ? AND user_id = ?`, string(role), micros(m.UpdatedAt), orgID, userID); err != nil {
			return err
		}
		return s.audit(ctx, t, orgID, actor, agentscope.AuditMemberRoleChanged, userID, map[string]any{"from": old.Role, "to": role})
	})
	if err != nil {
		return agentscope.Membership{}, fmt.Errorf("change member's role: %w", err)
	}
	return m, nil
}

// RemoveMember ends the user's membership of the organisation, recorded by
// actor. It answers ENOTFOUND for a user who is not a member and ECONFLICT
// for the last owner.
func (s *Store) RemoveMember(ctx context.Context, orgID, userID, actor string) error {
	err := s.inTx(ctx, func(t tx) error {
		old, err := s.lockedMembership(ctx, t, orgID, userID)
		if err != nil {
			return err
		}
		if err := s.keepAnOwner(ctx, t, old); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM memberships WHERE org_id = ? AND user_id = ?`, orgID, userID); err != nil {
			return err
		}
		return s.audit(ctx, t, orgID, actor, agentscope.AuditMemberRemoved, userID, map[string]any{"role": old.Role})
	})
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	return nil
}

// lockedMembership locks the organisation (lockOrg) and reads the
// membership.
func (s *Store) lockedMembership(ctx context.Context, t tx, orgID, userID string) (agentscope.Membership, error) {
	if err := s.lockOrg(ctx, t, orgID); agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return agentscope.Membership{}, memberNotFound(userID)
	} else if err != nil {
		return agentscope.Membership{}, err
	}
	m, err := scanMembership(t.queryRow(ctx, `SELECT `+membershipCols+` FROM memberships WHERE org_id = ? AND user_id = ?`, orgID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, memberNotFound(userID)
	}
	return m, err
}

// keepAnOwner refuses to take m's owner role away when it is the
// organisation's last.
func (s *Store) keepAnOwner(ctx context.Context, t tx, m agentscope.Membership) error {
	if m.Role != agentscope.RoleOwner {
		return nil
	}
	var others int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM memberships WHERE org_id = ? AND role = ? AND user_id <> ?`, m.OrgID, string(agentscope.RoleOwner), m.UserID).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return agentscope.Errorf(agentscope.ECONFLICT, "the organisation's last owner cannot be removed or given another role: make someone else owner first")
	}
	return nil
}
