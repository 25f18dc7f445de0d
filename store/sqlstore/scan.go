package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/agentscope/agentscope"
)

// ScanEvents implements agentscope.Store. It pages with a keyset on
// (ts, session_id, seq), so memory stays bounded by one batch whatever the
// size of the store, and each batch is one indexed range read.
func (s *Store) ScanEvents(ctx context.Context, orgID string, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error {
	batch := q.BatchSize
	if batch <= 0 {
		batch = 1000
	}
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
	base := strings.Join(where, " AND ")
	var (
		lastTS  int64
		lastSID string
		lastSeq int64
		started bool
	)
	for {
		cond, cargs := base, append([]any{}, args...)
		if started {
			// A row-value comparison, which both databases turn into an
			// index range start.
			cond += " AND (ts, session_id, seq) > (?, ?, ?)"
			cargs = append(cargs, lastTS, lastSID, lastSeq)
		}
		cargs = append(cargs, batch)
		rows, err := s.query(ctx, `SELECT ts, session_id, seq, body FROM events WHERE `+cond+` ORDER BY ts, session_id, seq LIMIT ?`, cargs...)
		if err != nil {
			return fmt.Errorf("scan events: %w", err)
		}
		evs, err := scanKeyed(rows, batch, &lastTS, &lastSID, &lastSeq)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		started = true
		more, err := fn(evs)
		if err != nil || !more || len(evs) < batch {
			return err
		}
	}
}

func scanKeyed(rows *sql.Rows, batch int, ts *int64, sid *string, seq *int64) ([]agentscope.Event, error) {
	defer rows.Close()
	evs := make([]agentscope.Event, 0, batch)
	var body []byte
	for rows.Next() {
		if err := rows.Scan(ts, sid, seq, &body); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		ev, err := DecodeStored(body)
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
