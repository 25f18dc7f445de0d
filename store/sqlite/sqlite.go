// Package sqlite is AgentScope's embedded default store: the canonical event
// log in one SQLite database file (modernc.org/sqlite, pure Go, WAL mode),
// implementing agentscope.Store through store/sqlstore.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/agentscope/agentscope/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations, for checking a database
// without applying them (sqlstore.MigrationStatus).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// Dialect is SQLite's sqlstore dialect.
var Dialect = sqlstore.Dialect{Name: "sqlite", MaxParams: 32766}

// Store is the SQLite implementation of agentscope.Store.
type Store struct {
	*sqlstore.Store
	path string
}

// Open opens (creating if needed) the database at path, applies migrations,
// and returns the store. Writes go through one connection — SQLite has one
// writer — in IMMEDIATE transactions with synchronous=FULL, so a commit is
// durable when Append returns; reads use a separate pool, which WAL lets run
// beside the writer.
func Open(ctx context.Context, path string, opts sqlstore.Options) (*Store, error) {
	if err := restrictFiles(path); err != nil {
		return nil, err
	}
	write, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := Migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	return &Store{Store: sqlstore.New(write, read, Dialect, opts), path: path}, nil
}

// restrictFiles creates the database file owner-only (0600) before SQLite
// opens it — SQLite gives the -wal and -shm files the database file's mode —
// and tightens an existing database and its -wal/-shm to 0600, since the
// events it holds may carry prompts, arguments and outputs.
func restrictFiles(path string) error {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restrict sqlite file %s: %w", p, err)
		}
	}
	return nil
}

// Migrate applies the embedded migrations to db.
func Migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if err := sqlstore.Migrate(ctx, db, Dialect, sub, ""); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	return nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// readMmapSize is how much of the database file a reader maps: 16 GiB,
// which SQLite lowers to its compiled-in maximum where that is smaller.
const readMmapSize = 1 << 34

func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
		// Readers map the database file instead of copying every page in
		// with a read call (a quarter of a large scan's time went to
		// pread). The mapping is address space; the pages are the OS's
		// page cache.
		q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", readMmapSize))
	}
	return "file:" + path + "?" + q.Encode()
}
