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

// sendBytes bounds the parameters one round trip carries: pgx encodes a
// whole batch into one buffer grown by appending, so a group commit of big
// events in one batch held that buffer and several times its size in
// garbage at once. The statements run inside the caller's BEGIN, so more
// round trips change nothing else.
const sendBytes = 8 << 20

// Send implements sqlstore.Pipe: the statements in order, in one round
// trip unless their parameters are larger than sendBytes.
func (p pipe) Send(ctx context.Context, stmts []sqlstore.Stmt) error {
	for len(stmts) > 0 {
		n, size := 0, 0
		for n < len(stmts) && (n == 0 || size+argBytes(stmts[n].Args) <= sendBytes) {
			size += argBytes(stmts[n].Args)
			n++
		}
		if err := p.send(ctx, stmts[:n]); err != nil {
			return err
		}
		stmts = stmts[n:]
	}
	return nil
}

// argBytes estimates the encoded size of a statement's parameters from
// their text; other values count a word each.
func argBytes(args []any) int {
	n := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v)
		case []string:
			for _, s := range v {
				n += len(s) + 4
			}
		case []int64:
			n += 12 * len(v)
		default:
			n += 8
		}
	}
	return n
}

func (p pipe) send(ctx context.Context, stmts []sqlstore.Stmt) (err error) {
	var b pgx.Batch
	for _, st := range stmts {
		b.Queue(st.SQL, reserveArgs(st.Args)...)
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
