package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentscope/agentscope/store/sqlstore"
)

// pipe is a pooled connection on which a group commit sends its statements
// as pgx batches: one round trip per batch instead of one per statement,
// and none of database/sql's per-call conversions and locking.
type pipe struct{ conn *pgxpool.Conn }

func (s *Store) openPipe(ctx context.Context) (sqlstore.Pipe, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return pipe{c}, nil
}

// Send implements sqlstore.Pipe.
func (p pipe) Send(ctx context.Context, stmts []sqlstore.Stmt) (err error) {
	var b pgx.Batch
	for _, st := range stmts {
		b.Queue(st.SQL, st.Args...)
	}
	br := p.conn.SendBatch(ctx, &b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	for _, st := range stmts {
		if st.Rows == nil {
			if _, err := br.Exec(); err != nil {
				return err
			}
			continue
		}
		rows, err := br.Query()
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

// Release implements sqlstore.Pipe. A connection still in a transaction
// (an error stopped the batch) is rolled back first; if that fails too,
// the pool closes it rather than reuse it.
func (p pipe) Release() {
	if p.conn.Conn().PgConn().TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.Background(), 5e9)
		_, _ = p.conn.Exec(ctx, "ROLLBACK")
		cancel()
	}
	p.conn.Release()
}
