package storetest

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"
)

// testUISessions: a signed-out session id is refused until it would have
// expired, is recorded once however often it signs out, and other ids are
// not affected; rows past their expiry are deleted when the next session
// signs out, so the table holds only sessions that could still be used.
func testUISessions(t *testing.T, st any) {
	s, ok := st.(interface {
		RevokeSession(ctx context.Context, id string, expires time.Time) error
		SessionRevoked(ctx context.Context, id string) (bool, error)
		ReadDB() *sql.DB
	})
	if !ok {
		t.Fatal("the store does not keep signed-out sessions")
	}
	ctx := context.Background()
	if err := s.RevokeSession(ctx, "sess-old", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	for range 2 {
		if err := s.RevokeSession(ctx, "sess-1", later); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]bool{"sess-1": true, "sess-2": false, "sess-old": false} {
		if got, err := s.SessionRevoked(ctx, id); err != nil || got != want {
			t.Errorf("%s revoked: %v, %v; want %v", id, got, err, want)
		}
	}
	rows, err := s.ReadDB().QueryContext(ctx, `SELECT id FROM ui_revoked_sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"sess-1"}) {
		t.Errorf("stored revocations %q, want only sess-1 (the expired one deleted)", ids)
	}
}
