package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// RevokeSession records that the web UI session id signed out; it stays
// refused until expires, when the session would have ended anyway. Rows
// past their expiry are removed on the way.
func (s *Store) RevokeSession(ctx context.Context, id string, expires time.Time) error {
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `DELETE FROM ui_revoked_sessions WHERE expires_at < ?`, micros(s.now())); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO ui_revoked_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, micros(expires))
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// SessionRevoked reports whether the web UI session id signed out.
func (s *Store) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM ui_revoked_sessions WHERE id = ? AND expires_at >= ?`, id, micros(s.now())).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check session: %w", err)
	}
	return n > 0, nil
}
