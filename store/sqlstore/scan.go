package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/agentscope/agentscope"
)

// ScanEvents implements agentscope.Store.
//
// In order, it pages with a keyset on (ts, session_id, seq), so memory
// stays bounded by one batch whatever the size of the store, and each batch
// is one indexed range read. With q.Unordered it reads in storage order
// instead (see unorderedParts). Either way the reading and decoding run in
// goroutines of their own, a batch ahead of fn, which is called from the
// caller's goroutine.
func (s *Store) ScanEvents(ctx context.Context, orgID string, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error {
	if q.BatchSize <= 0 {
		q.BatchSize = 1000
	}
	where, args := eventWhere(orgID, q)
	mask := fieldMask(q.Fields)
	parts := []scanPart{s.orderedPart(where, args, q.BatchSize, mask)}
	if q.Unordered {
		ps, err := s.unorderedParts(ctx, orgID, q, where, args, mask)
		if err != nil {
			return err
		}
		if ps != nil {
			parts = ps
		}
	}
	return runParts(ctx, parts, fn)
}

// scanPart reads one share of a scan, handing each decoded batch to emit
// until emit reports false.
type scanPart func(ctx context.Context, emit func([]agentscope.Event) bool) error

// runParts runs the parts at once and calls fn with their batches, one at
// a time, in the caller's goroutine. With one part the batches keep its
// order.
func runParts(ctx context.Context, parts []scanPart, fn func([]agentscope.Event) (bool, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	out := make(chan []agentscope.Event, len(parts))
	for _, p := range parts {
		g.Go(func() error {
			return p(gctx, func(evs []agentscope.Event) bool {
				select {
				case out <- evs:
					return true
				case <-gctx.Done():
					return false
				}
			})
		})
	}
	werr := make(chan error, 1)
	go func() {
		werr <- g.Wait()
		close(out)
	}()
	var (
		ferr    error
		stopped bool
	)
	for evs := range out {
		if stopped {
			continue // drain, so the readers can finish
		}
		more, err := fn(evs)
		if err != nil || !more {
			ferr, stopped = err, true
			cancel()
		}
	}
	err := <-werr
	if stopped {
		return ferr // the readers' errors are only their cancellation
	}
	if err == nil {
		// A part that found the caller's context ended while it waited to
		// hand over a batch stops without an error of its own: the scan
		// is incomplete all the same.
		err = ctx.Err()
	}
	return err
}

// eventWhere is the WHERE clause of a scan, with its arguments.
func eventWhere(orgID string, q agentscope.EventQuery) (string, []any) {
	where := []string{"org_id = ?"}
	args := []any{orgID}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("session_id", q.SessionIDs)
	in("agent", q.Agents)
	types := make([]string, len(q.Types))
	for i, t := range q.Types {
		types[i] = string(t)
	}
	in("type", types)
	if !q.Earliest.IsZero() {
		where, args = append(where, "ts >= ?"), append(args, micros(q.Earliest))
	}
	if !q.Latest.IsZero() {
		where, args = append(where, "ts < ?"), append(args, micros(q.Latest))
	}
	return strings.Join(where, " AND "), args
}

// orderedPart reads the whole scan in (ts, session_id, seq) order.
func (s *Store) orderedPart(where string, args []any, batch int, mask uint64) scanPart {
	return func(ctx context.Context, emit func([]agentscope.Event) bool) error {
		var (
			lastTS  int64
			lastSID string
			lastSeq int64
			started bool
		)
		for {
			cond, cargs := where, append([]any{}, args...)
			if started {
				// A row-value comparison, which both databases turn into an
				// index range start.
				cond += " AND (ts, session_id, seq) > (?, ?, ?)"
				cargs = append(cargs, lastTS, lastSID, lastSeq)
			}
			cargs = append(cargs, batch)
			rows, err := s.query(ctx, `SELECT ts, body FROM events WHERE `+cond+` ORDER BY ts, session_id, seq LIMIT ?`, cargs...)
			if err != nil {
				return fmt.Errorf("scan events: %w", err)
			}
			var ts int64
			evs, err := decodePage(rows, batch, mask, func(r *sql.Rows, body *sql.RawBytes) error {
				return r.Scan(&ts, body)
			})
			if err != nil || len(evs) == 0 {
				return err
			}
			// The key is the ts column (as stored, in microseconds) and the
			// session and seq the body holds.
			last := &evs[len(evs)-1]
			lastTS, lastSID, lastSeq, started = ts, last.SessionID, last.Seq, true
			if !emit(evs) || len(evs) < batch {
				return nil
			}
		}
	}
}

// decodePage decodes one page of rows (at most one batch), each scanned
// into its body by scan.
func decodePage(rows *sql.Rows, batch int, mask uint64, scan func(*sql.Rows, *sql.RawBytes) error) ([]agentscope.Event, error) {
	defer rows.Close()
	evs := make([]agentscope.Event, 0, batch)
	// The body is decoded (and so copied) before the next row replaces it.
	var body sql.RawBytes
	for rows.Next() {
		if err := scan(rows, &body); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		ev, err := decodeMasked(body, mask)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan events: %w", err)
	}
	return evs, nil
}

// unorderedParts plans an unordered scan, or returns nil to read in order.
//
// Postgres gets one statement without ORDER BY, run through the store's
// BodyStreamer (postgres.Open sets pgx's): its planner, which knows the
// table's statistics, picks a sequential or bitmap scan, both in heap
// order, and the rows stream as the server produces them.
//
// SQLite reads its events table in primary-key order, (session_id, seq),
// which avoids a random lookup per event from a secondary index, split by
// session into one part per core. That wins only when the scan keeps much
// of what it reads, so it is used when nothing but types filters the scan
// and a sample of the organisation's events finds those types common;
// time, agent and session filters keep their index.
func (s *Store) unorderedParts(ctx context.Context, orgID string, q agentscope.EventQuery, where string, args []any, mask uint64) ([]scanPart, error) {
	if s.d.Name == "postgres" {
		if s.streamBodies == nil {
			return nil, nil
		}
		return []scanPart{s.streamPart(`SELECT body FROM events WHERE `+where, args, q.BatchSize, mask)}, nil
	}
	if len(q.SessionIDs) > 0 || len(q.Agents) > 0 || !q.Earliest.IsZero() || !q.Latest.IsZero() {
		return nil, nil
	}
	if len(q.Types) > 0 {
		common, err := s.typesCommon(ctx, orgID, q.Types)
		if err != nil || !common {
			return nil, err
		}
	}
	bounds, err := s.sessionSplits(ctx, orgID, min(runtime.GOMAXPROCS(0), 4))
	if err != nil {
		return nil, err
	}
	parts := make([]scanPart, 0, len(bounds)+1)
	for i := 0; i <= len(bounds); i++ {
		var lo, hi string
		if i > 0 {
			lo = bounds[i-1]
		}
		if i < len(bounds) {
			hi = bounds[i]
		}
		parts = append(parts, s.keyPart(where, args, lo, hi, q.BatchSize, mask))
	}
	return parts, nil
}

// sampleSize is how many events typesCommon looks at, and commonShare the
// share of them that must match for a primary-key scan: reading a row in
// key order costs about a third of fetching one through an index.
const (
	sampleSize  = 2000
	commonShare = 0.25
)

// typesCommon samples the organisation's events in key order and reports
// whether at least commonShare of them have one of the types.
func (s *Store) typesCommon(ctx context.Context, orgID string, types []agentscope.EventType) (bool, error) {
	rows, err := s.query(ctx, `SELECT type FROM events WHERE org_id = ? ORDER BY session_id, seq LIMIT ?`, orgID, sampleSize)
	if err != nil {
		return false, fmt.Errorf("sample events: %w", err)
	}
	defer rows.Close()
	want := map[string]bool{}
	for _, t := range types {
		want[string(t)] = true
	}
	n, hits := 0, 0
	var t string
	for rows.Next() {
		if err := rows.Scan(&t); err != nil {
			return false, fmt.Errorf("sample events: %w", err)
		}
		n++
		if want[t] {
			hits++
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("sample events: %w", err)
	}
	return n > 0 && float64(hits) >= commonShare*float64(n), nil
}

// sessionSplits returns up to k-1 session ids that cut the organisation's
// sessions into k ranges of about equal numbers of sessions.
func (s *Store) sessionSplits(ctx context.Context, orgID string, k int) ([]string, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT count(*) FROM runs WHERE org_id = ?`, orgID).Scan(&n); err != nil {
		return nil, fmt.Errorf("count sessions: %w", err)
	}
	if k < 2 || n < 2*k {
		return nil, nil
	}
	var out []string
	for i := 1; i < k; i++ {
		var id string
		err := s.queryRow(ctx, `SELECT session_id FROM runs WHERE org_id = ? ORDER BY session_id LIMIT 1 OFFSET ?`, orgID, i*n/k).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("split sessions: %w", err)
		}
		if len(out) == 0 || id > out[len(out)-1] {
			out = append(out, id)
		}
	}
	return out, nil
}

// keyPart reads the sessions from lo (inclusive, "" for the first) to hi
// (exclusive, "" for past the last) in primary-key order, paging with a
// keyset on (session_id, seq).
func (s *Store) keyPart(where string, args []any, lo, hi string, batch int, mask uint64) scanPart {
	return func(ctx context.Context, emit func([]agentscope.Event) bool) error {
		var (
			lastSID string
			lastSeq int64
			started bool
		)
		for {
			cond, cargs := where, append([]any{}, args...)
			// The range start is either the keyset or lo, never both: given
			// both, SQLite seeks to lo and walks every page from there.
			switch {
			case started:
				cond += " AND (session_id, seq) > (?, ?)"
				cargs = append(cargs, lastSID, lastSeq)
			case lo != "":
				cond += " AND session_id >= ?"
				cargs = append(cargs, lo)
			}
			if hi != "" {
				cond += " AND session_id < ?"
				cargs = append(cargs, hi)
			}
			cargs = append(cargs, batch)
			rows, err := s.query(ctx, `SELECT body FROM events WHERE `+cond+` ORDER BY session_id, seq LIMIT ?`, cargs...)
			if err != nil {
				return fmt.Errorf("scan events: %w", err)
			}
			evs, err := decodePage(rows, batch, mask, func(r *sql.Rows, body *sql.RawBytes) error {
				return r.Scan(body)
			})
			if err != nil || len(evs) == 0 {
				return err
			}
			// The body holds the key: each event's session and seq.
			last := &evs[len(evs)-1]
			lastSID, lastSeq, started = last.SessionID, last.Seq, true
			if !emit(evs) || len(evs) < batch {
				return nil
			}
		}
	}
}

// streamPart runs one statement, with '?' placeholders, through the
// store's BodyStreamer and hands its rows over in batches as they arrive.
func (s *Store) streamPart(q string, args []any, batch int, mask uint64) scanPart {
	return func(ctx context.Context, emit func([]agentscope.Event) bool) error {
		evs := make([]agentscope.Event, 0, batch)
		var derr error
		stopped := false
		err := s.streamBodies(ctx, s.d.rebind(q), args, func(body []byte) bool {
			ev, err := decodeMasked(body, mask)
			if err != nil {
				derr = err
				return false
			}
			evs = append(evs, ev)
			if len(evs) == batch {
				if !emit(evs) {
					stopped = true
					return false
				}
				evs = make([]agentscope.Event, 0, batch)
			}
			return true
		})
		switch {
		case derr != nil:
			return derr
		case err != nil:
			return fmt.Errorf("scan events: %w", err)
		case stopped || len(evs) == 0:
			return nil
		}
		emit(evs)
		return nil
	}
}

// decodeMasked decodes a stored event, only the fields in mask when the
// fast path can (the rest stay zero), else all of them.
func decodeMasked(body []byte, mask uint64) (agentscope.Event, error) {
	if ev, ok := decodeProjected(body, mask); ok {
		return ev, nil
	}
	return decodeGeneral(body)
}
