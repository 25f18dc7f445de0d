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

// MigrationStatus compares the migrations db has applied with those of
// migrations, without applying any: pending are the files not applied yet,
// unknown the versions applied that no file has (a newer AgentScope
// migrated the database). A database without schema_migrations has every
// migration pending.
func MigrationStatus(ctx context.Context, db *sql.DB, migrations fs.FS) (pending []string, unknown []int, err error) {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return nil, nil, err
	}
	applied := map[int]bool{}
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err == nil {
		for rows.Next() {
			var v int
			if err = rows.Scan(&v); err != nil {
				break
			}
			applied[v] = true
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("read schema_migrations: %w", err)
		}
	} else if !strings.Contains(err.Error(), "schema_migrations") {
		// Every driver names the missing table; anything else is a failure.
		return nil, nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	sort.Strings(names)
	known := map[int]bool{}
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, nil, fmt.Errorf("migration %s: name must start with a number", name)
		}
		known[v] = true
		if !applied[v] {
			pending = append(pending, name)
		}
	}
	for v := range applied {
		if !known[v] {
			unknown = append(unknown, v)
		}
	}
	sort.Ints(unknown)
	return pending, unknown, nil
}
