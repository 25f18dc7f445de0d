package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migrate applies the numbered *.sql files of migrations (named
// NNN_description.sql) that db has not seen yet, each in its own
// transaction, recording them in schema_migrations. lock, if not nil, runs
// first inside the first transaction to serialise concurrent migrators.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, migrations fs.FS, lockStmt string) error {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	versions := make([]int, len(names))
	byVersion := map[int]string{}
	for i, name := range names {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		// A version is applied once: a second file with its number would
		// be skipped silently on every database that has the first.
		if other, ok := byVersion[v]; ok {
			return fmt.Errorf("migrations %s and %s have the same number", other, name)
		}
		versions[i], byVersion[v] = v, name
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for i, name := range names {
		v := versions[i]
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return err
		}
		if err := applyMigration(ctx, db, d, v, name, string(body), lockStmt); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, d Dialect, version int, name, body, lockStmt string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if lockStmt != "" {
		if _, err := tx.ExecContext(ctx, lockStmt); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, d.rebind(`SELECT count(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`), version, name); err != nil {
		return err
	}
	return tx.Commit()
}
