// Package pgtest gives each test its own PostgreSQL schema. Postgres tests
// run when AGENTSCOPE_TEST_DATABASE_URL is set (make test sets it); with
// AGENTSCOPE_TEST_POSTGRES=required a missing server fails the test instead
// of skipping it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// URL returns a connection URL whose search_path is a fresh, empty schema
// that is dropped when the test ends. It skips the test when Postgres tests
// are not enabled.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("AGENTSCOPE_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("AGENTSCOPE_TEST_POSTGRES") == "required" {
			t.Fatal("AGENTSCOPE_TEST_POSTGRES=required but AGENTSCOPE_TEST_DATABASE_URL is not set")
		}
		t.Skip("Postgres tests are off: set AGENTSCOPE_TEST_DATABASE_URL (make test does)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to test Postgres: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse AGENTSCOPE_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
