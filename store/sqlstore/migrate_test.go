package sqlstore

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

// TestMigrateRefusesRepeatedNumbers: two files with one number are refused
// before the database is touched (db is nil here), since the second would
// never be applied where the first was.
func TestMigrateRefusesRepeatedNumbers(t *testing.T) {
	files := fstest.MapFS{
		"001_a.sql":     {Data: []byte("SELECT 1")},
		"040_users.sql": {Data: []byte("SELECT 1")},
		"040_other.sql": {Data: []byte("SELECT 1")},
	}
	err := Migrate(context.Background(), nil, Dialect{}, files, "")
	if err == nil || !strings.Contains(err.Error(), "040_other.sql and 040_users.sql have the same number") {
		t.Fatalf("Migrate: %v", err)
	}
	bad := fstest.MapFS{"x_users.sql": {Data: []byte("SELECT 1")}}
	if err := Migrate(context.Background(), nil, Dialect{}, bad, ""); err == nil || !strings.Contains(err.Error(), "must start with a number") {
		t.Fatalf("Migrate: %v", err)
	}
}
