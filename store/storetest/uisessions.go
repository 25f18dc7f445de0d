package storetest

import (
	"context"
	"testing"
	"time"
)

// testUISessions: a signed-out session id is refused until it would have
// expired, is recorded once however often it signs out, and other ids are
// not affected.
func testUISessions(t *testing.T, st any) {
	s, ok := st.(interface {
		RevokeSession(ctx context.Context, id string, expires time.Time) error
		SessionRevoked(ctx context.Context, id string) (bool, error)
	})
	if !ok {
		t.Fatal("the store does not keep signed-out sessions")
	}
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	for range 2 {
		if err := s.RevokeSession(ctx, "sess-1", later); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeSession(ctx, "sess-old", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"sess-1": true, "sess-2": false, "sess-old": false} {
		if got, err := s.SessionRevoked(ctx, id); err != nil || got != want {
			t.Errorf("%s revoked: %v, %v; want %v", id, got, err, want)
		}
	}
}
