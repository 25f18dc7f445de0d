package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// Options configure a Store.
type Options struct {
	// Outbox, when true, writes a pending Splunk delivery beside every
	// appended event in the same transaction. Off when no HEC is configured,
	// so nothing accumulates.
	Outbox bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// SecretKey (SecretKeyLen bytes) seals the alert rules' signing
	// secrets at rest (AES-256-GCM); nil stores them as given.
	SecretKey []byte
	// PreviousSecretKeys open secrets sealed under them but never seal:
	// the keys being rotated out (or, during a rotation across several
	// processes, the key being rotated in). SealSecrets re-seals what they
	// open under SecretKey.
	PreviousSecretKeys [][]byte
	// Redactor removes secrets from every request Append and AppendTx
	// are given, before anything of it is written (nil: none).
	Redactor Redactor
	// Usage, when set (billing on), counts each organisation's stored
	// events per billing period in the transaction that stores them, and
	// refuses the events past its plan's limit (EPLANLIMIT). Nil (billing
	// off): appends do no billing work at all.
	Usage UsagePolicy
	// UsageSource, when set, is asked for the policy at each group
	// commit instead of Usage, so that plans published to the database
	// by another process apply without a restart (billing.Shared); it
	// returns nil while billing is off, and must be cheap (an atomic
	// load): it is on the append path.
	UsageSource func() UsagePolicy
}

// Redactor returns req with the secrets of its events and its run
// redacted, without modifying what req points to, which is the caller's
// (redact.Redactor).
type Redactor interface {
	Request(req agentscope.AppendRequest) agentscope.AppendRequest
}

// Store implements agentscope.Store over database/sql.
type Store struct {
	write *sql.DB // the connection(s) that write
	read  *sql.DB // readers; may be the same pool as write
	d     Dialect
	opts  Options
	// streamBodies, when set, runs a one-column query the driver's native
	// way, for scans: see SetBodyStreamer.
	streamBodies BodyStreamer
	// pipe, when set, opens a connection on which appends send their
	// statements in batches: see SetPipe.
	pipe func(ctx context.Context) (Pipe, error)
	// hot keeps the events this process committed for the claims of
	// their outbox rows (see hotOutbox).
	hot *hotOutbox
	// runs caches the runs this process committed last, when the
	// dialect can check them (Dialect.RunVersion); nil otherwise.
	runs *runCache
	// inserts are the append path's inserts of events and of outbox
	// rows, by row count (chunkRows), each written and prepared on the
	// write pool once; nil with array parameters (see prepareInserts).
	inserts map[insertKey]Stmt
	// chunkRows are the row counts of inserts: insertChunkRows's sizes
	// whose statements bind no more than the dialect's MaxParams.
	chunkRows []int
}

// Stmt is one statement of a group commit, its placeholders already in the
// dialect's form.
type Stmt struct {
	SQL  string
	Args []any
	// Rows, when set, reads the statement's rows (and must not keep them);
	// otherwise its result is discarded.
	Rows func(Rows) error
	// prepared, when set, is SQL prepared on the write pool.
	prepared *sql.Stmt
}

// Rows are the rows of a Stmt as its Rows function reads them.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
}

// Pipe is one connection on which a group commit's statements go in a
// batch each: sent together, answered together, one round trip. The
// Postgres adapter implements it with pgx batches.
type Pipe interface {
	// Send runs stmts in order as one round trip and stops at the first
	// error, which it returns.
	Send(ctx context.Context, stmts []Stmt) error
	// Release gives the connection back, rolling back a transaction an
	// error left open.
	Release()
}

// SetPipe makes appends without a hook run over connections from open:
// BEGIN and the batch's reads in one round trip, its writes and COMMIT in
// a second, instead of a round trip per statement through database/sql.
// Set it before the store is used.
func (s *Store) SetPipe(open func(ctx context.Context) (Pipe, error)) { s.pipe = open }

var _ agentscope.Store = (*Store)(nil)

// BodyStreamer runs query (with the dialect's placeholders) and calls fn
// with the first column of each row, a slice valid only until fn returns,
// until fn returns false.
type BodyStreamer func(ctx context.Context, query string, args []any, fn func(col []byte) bool) error

// SetBodyStreamer lets unordered scans read rows through the driver's own
// interface instead of database/sql, which converts every value to a
// fresh Go value under a lock. Set it before the store is used.
func (s *Store) SetBodyStreamer(fn BodyStreamer) { s.streamBodies = fn }

// New returns a Store over already-migrated databases. write and read may be
// the same *sql.DB. Close closes both.
func New(write, read *sql.DB, d Dialect, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if d.MaxParams == 0 {
		d.MaxParams = 999
	}
	s := &Store{write: write, read: read, d: d, opts: opts, hot: newHotOutbox(hotOutboxBytes, hotOutboxAge)}
	if d.RunVersion != "" && d.WrittenVersion != "" && d.IsStaleRun != nil && d.ArrayParams {
		s.runs = newRunCache()
	}
	if !d.ArrayParams {
		s.chunkRows = chunkRows(d.MaxParams)
		s.inserts = s.prepareInserts()
	}
	return s
}

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.d }

// Database names the SQL database: "sqlite" or "postgres".
func (s *Store) Database() string { return s.d.Name }

// WriteDB returns the writing pool, for the store adapters' own queries.
func (s *Store) WriteDB() *sql.DB { return s.write }

// ReadDB returns the reading pool.
func (s *Store) ReadDB() *sql.DB { return s.read }

// OutboxEnabled reports whether appends write outbox entries.
func (s *Store) OutboxEnabled() bool { return s.opts.Outbox }

// SetOutbox turns outbox writes on or off for later appends.
func (s *Store) SetOutbox(on bool) { s.opts.Outbox = on }

// Close closes the databases.
func (s *Store) Close() error {
	for _, st := range s.inserts {
		if st.prepared != nil {
			_ = st.prepared.Close()
		}
	}
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

func (s *Store) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// q rebinds and runs a query on the reader.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.read.QueryContext(ctx, s.d.rebind(q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.read.QueryRowContext(ctx, s.d.rebind(q), args...)
}

// tx wraps a *sql.Tx with the dialect's rebinding.
type tx struct {
	*sql.Tx
	d Dialect
}

func (t tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.ExecContext(ctx, t.d.rebind(q), args...)
}

func (t tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(ctx, t.d.rebind(q), args...)
}

// send runs stmts one by one in the transaction.
func (t tx) send(ctx context.Context, stmts []Stmt) error {
	for _, st := range stmts {
		if st.prepared != nil {
			// The pool's statement, on the transaction's connection:
			// prepared there already, it is not prepared again.
			if _, err := t.StmtContext(ctx, st.prepared).ExecContext(ctx, st.Args...); err != nil {
				return err
			}
			continue
		}
		if st.Rows == nil {
			if _, err := t.ExecContext(ctx, st.SQL, st.Args...); err != nil {
				return err
			}
			continue
		}
		rows, err := t.QueryContext(ctx, st.SQL, st.Args...)
		if err != nil {
			return err
		}
		err = st.Rows(rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// inTx runs fn in a write transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(tx) error) error {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx{sqlTx, s.d}); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}
