// Package postgres is AgentScope's production store: the canonical event log
// in PostgreSQL through a pgx/v5 pool, shared by any number of stateless
// AgentScope processes, implementing agentscope.Store through
// store/sqlstore.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

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

// Dialect is PostgreSQL's sqlstore dialect.
var Dialect = sqlstore.Dialect{Name: "postgres", Numbered: true, LockSuffix: " FOR UPDATE", MaxParams: 65535, ArrayParams: true,
	IsRepeatedEvent: isRepeatedEvent, GenericPlans: genericPlans,
	RunVersion: "xmin::text", WrittenVersion: writtenVersion, IsStaleRun: isStaleRun}

// writtenVersion is the xmin of the rows the current transaction writes:
// its transaction id, which txid_current gives with the epoch above the
// low 32 bits that xmin holds.
const writtenVersion = `SELECT (txid_current() % 4294967296)::text`

// genericPlans has a group commit's optimistic attempt (and the outbox
// claim, see sqlstore's claimHot) run its
// statements with their generic plans, where every other query of the
// store plans each execution for its arguments (force_custom_plan, see
// Open). Their parameters are arrays, whose length a custom plan knows and
// a generic one guesses (10), so under force_custom_plan each of them was
// planned again at every commit: about a quarter of Postgres's CPU under
// record_event from 32 clients. The attempt reads nothing but the batch's
// runs by their primary key (and, with billing, its organisations' usage
// rows), where a generic plan's worst is a hash join over a runs table too
// small for its index to be cheaper; its inserts check repeated event ids
// through the unique index whatever the plan. The lookup of stored event
// ids, where a plan made without statistics read whole sessions, is only
// in the second attempt, which keeps custom plans. The setting is local
// to the transaction.
const genericPlans = "SET LOCAL plan_cache_mode = force_generic_plan"

// repeatedEventIndex is the unique index on (org_id, session_id,
// event_id): an optimistic append that repeats a stored event id fails on
// it (sqlstore's insertEvents). Migration 039's agentscope_expect_new_events,
// which an ON CONFLICT insert used to report the same, stays for processes
// of an earlier release sharing the database during an upgrade.
const repeatedEventIndex = "events_by_event_id"

// uniqueViolation is Postgres's SQLSTATE unique_violation.
const uniqueViolation = "23505"

// isRepeatedEvent reports whether err is a unique violation on
// repeatedEventIndex. Any other violation (a run created twice, a seq
// taken) is an error of its own, not a retried event.
func isRepeatedEvent(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == uniqueViolation && pe.ConstraintName == repeatedEventIndex
}

// staleRun is the SQLSTATE of migration 111's agentscope_expect_runs: a
// run the append had cached changed since (see sqlstore's runCache).
const staleRun = "AS412"

// isStaleRun reports whether err is agentscope_expect_runs failing.
func isStaleRun(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == staleRun
}

// migrationLock serialises processes that start at the same time.
const migrationLock = `SELECT pg_advisory_xact_lock(7418270412)`

// Store is the PostgreSQL implementation of agentscope.Store.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

// Open connects to the database at url, applies migrations and returns the
// store.
func Open(ctx context.Context, url string, opts sqlstore.Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	// pgx prepares and caches each statement per connection, and Postgres
	// may then settle on a generic plan made while the tables were empty (a
	// sequential scan of events, cheap at first and slower with every
	// event). Planning each execution for its arguments and the tables'
	// current size keeps the index lookups; a URL may still choose.
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	if after := cfg.AfterConnect; after != nil {
		cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			if err := after(ctx, conn); err != nil {
				return err
			}
			return registerReserve(ctx, conn)
		}
	} else {
		cfg.AfterConnect = registerReserve
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	if err := sqlstore.Migrate(ctx, db, Dialect, sub, migrationLock); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	st := &Store{Store: sqlstore.New(db, db, Dialect, opts), pool: pool}
	st.SetBodyStreamer(st.streamBodies)
	st.SetPipe(st.openPipe)
	return st, nil
}

// streamBodies runs a one-column query on the pool and hands fn each row's
// column as it came off the wire (text; body is a TEXT column), without
// database/sql's per-value conversion.
func (s *Store) streamBodies(ctx context.Context, query string, args []any, fn func([]byte) bool) error {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if !fn(rows.RawValues()[0]) {
			return nil
		}
	}
	return rows.Err()
}

// Pool returns the pgx pool, for River and LISTEN/NOTIFY.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the store and its pool.
func (s *Store) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}
