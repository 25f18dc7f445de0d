package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// The outbox holds one row per appended event, and one per audit log entry
// (audit_id), that Splunk has not yet confirmed. A forwarder claims rows with a lease, and either completes them
// (deletes), releases them for a later retry, or moves them to dead_letters.
//
// A lease is written as lease_owner/lease_until and also pushes
// next_attempt_at to lease_until, so "due" (next_attempt_at <= now) already
// means "not leased, or the lease has expired": one indexed range scan on
// outbox_by_due finds claimable rows, and leased rows are not in it.
//
// Times come from Options.Now, like every other time the store writes, so
// tests can move the clock; on Postgres, processes sharing one database
// should keep their clocks in sync (NTP), as leases compare across them.

// maxOutboxError bounds the last_error text kept on an entry.
const maxOutboxError = 1000

const claimCols = `o.id, o.org_id, o.session_id, o.seq, o.attempts, o.last_error, e.event_id, e.type, e.agent, e.ts, e.body,
	o.audit_id, a.at, a.actor, a.action, a.target, a.detail`

// claimJoins joins a claimed entry with its event, or with its audit log
// entry (audit_id): an audit entry's session_id is ”, which no event has,
// and an event's audit_id is NULL, which matches nothing.
const claimJoins = `LEFT JOIN events e ON e.org_id = o.org_id AND e.session_id = o.session_id AND e.seq = o.seq
LEFT JOIN audit_log a ON a.org_id = o.org_id AND a.id = o.audit_id`

// claimPostgres locks due rows with SKIP LOCKED so concurrent claimers in
// any number of processes take disjoint sets without waiting on each other,
// leases them and returns them joined with their events, in one statement.
const claimPostgres = `WITH claimed AS (
	UPDATE outbox o SET lease_owner = ?, lease_until = ?, next_attempt_at = ?,
		created_at = COALESCE(o.created_at, o.next_attempt_at)
	FROM (
		SELECT id FROM outbox
		WHERE next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY next_attempt_at, id
		LIMIT ?
		FOR UPDATE SKIP LOCKED
	) due
	WHERE o.id = due.id
	RETURNING o.id, o.org_id, o.session_id, o.seq, o.attempts, o.last_error, o.audit_id
)
SELECT ` + claimCols + `
FROM claimed o ` + claimJoins + `
ORDER BY o.id`

// claimSQLiteSelect reads due rows inside an IMMEDIATE transaction: SQLite
// has one writer at a time, across processes too, so nothing can claim the
// same rows between this read and the update that follows it.
const claimSQLiteSelect = `SELECT ` + claimCols + `
FROM outbox o ` + claimJoins + `
WHERE o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until <= ?)
ORDER BY o.next_attempt_at, o.id
LIMIT ?`

// ClaimOutbox leases up to limit due entries to owner for lease and returns
// them with their events, in enqueue order. Due entries are those whose
// next_attempt_at has passed and that no live lease holds. Entries claimed
// by one call are never returned by another call until the lease expires or
// the owner releases them.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, limit int, lease time.Duration) ([]agentscope.OutboxEntry, error) {
	if owner == "" {
		return nil, fmt.Errorf("claim outbox: owner is required")
	}
	if limit <= 0 {
		return nil, nil
	}
	now := s.now()
	nowUS, until := micros(now), micros(now.Add(lease))
	var entries []agentscope.OutboxEntry
	var err error
	if s.d.Name == "postgres" {
		entries, err = s.claimOutboxPostgres(ctx, owner, limit, nowUS, until)
	} else {
		entries, err = s.claimOutboxSQLite(ctx, owner, limit, nowUS, until)
	}
	if err != nil {
		return nil, fmt.Errorf("claim outbox for %s: %w", owner, err)
	}
	return entries, nil
}

func (s *Store) claimOutboxPostgres(ctx context.Context, owner string, limit int, now, until int64) ([]agentscope.OutboxEntry, error) {
	rows, err := s.write.QueryContext(ctx, s.d.rebind(claimPostgres), owner, until, until, now, now, limit)
	if err != nil {
		return nil, err
	}
	return scanOutboxEntries(rows, limit)
}

func (s *Store) claimOutboxSQLite(ctx context.Context, owner string, limit int, now, until int64) ([]agentscope.OutboxEntry, error) {
	var entries []agentscope.OutboxEntry
	err := s.inTx(ctx, func(t tx) error {
		rows, err := t.query(ctx, claimSQLiteSelect, now, now, limit)
		if err != nil {
			return err
		}
		if entries, err = scanOutboxEntries(rows, limit); err != nil {
			return err
		}
		return forEachIDChunk(entryIDs(entries), s.d.MaxParams-3, func(ids []any) error {
			args := append([]any{owner, until, until}, ids...)
			_, err := t.exec(ctx, `UPDATE outbox SET lease_owner = ?, lease_until = ?, next_attempt_at = ?,
				created_at = COALESCE(created_at, next_attempt_at) WHERE id IN (`+params(len(ids))+`)`, args...)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b agentscope.OutboxEntry) int { return cmp.Compare(a.ID, b.ID) })
	return entries, nil
}

func scanOutboxEntries(rows *sql.Rows, capacity int) ([]agentscope.OutboxEntry, error) {
	defer rows.Close()
	entries := make([]agentscope.OutboxEntry, 0, min(capacity, 4096))
	for rows.Next() {
		var (
			e                   agentscope.OutboxEntry
			lastErr             sql.NullString
			eventID, typ, agent sql.NullString
			ts                  sql.NullInt64
			body                []byte
			auditID             sql.NullString
			audit               auditColumns
		)
		if err := rows.Scan(&e.ID, &e.OrgID, &e.SessionID, &e.Seq, &e.Attempts, &lastErr, &eventID, &typ, &agent, &ts, &body,
			&auditID, &audit.at, &audit.actor, &audit.action, &audit.target, &audit.detail); err != nil {
			return nil, fmt.Errorf("scan outbox entry: %w", err)
		}
		e.LastError, e.EventID, e.Type, e.Agent = lastErr.String, eventID.String, typ.String, agent.String
		if ts.Valid {
			e.TS = fromMicros(ts.Int64)
		}
		if body != nil {
			e.Body = json.RawMessage(body)
		}
		if e.AuditID = auditID.String; e.AuditID != "" {
			if err := audit.fill(&e); err != nil {
				return nil, err
			}
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outbox entries: %w", err)
	}
	return entries, nil
}

// auditColumns are a claimed entry's audit log columns, all NULL when the
// entry is an event's or its audit row is missing.
type auditColumns struct {
	at                            sql.NullInt64
	actor, action, target, detail sql.NullString
}

// fill gives e, an audit log entry's outbox entry, its action, time and
// body: the AuditEntry as JSON. A missing audit row leaves Body nil, like
// a missing event.
func (a auditColumns) fill(e *agentscope.OutboxEntry) error {
	if !a.at.Valid {
		return nil
	}
	entry := agentscope.AuditEntry{OrgID: e.OrgID, ID: e.AuditID, At: fromMicros(a.at.Int64), Actor: a.actor.String,
		Action: agentscope.AuditAction(a.action.String), Target: a.target.String, Detail: json.RawMessage(a.detail.String)}
	body, err := json.Marshal(entry)
	if err != nil {
		return fmt.Errorf("encode audit entry %s for the outbox: %w", e.AuditID, err)
	}
	e.Type, e.TS, e.Body = a.action.String, entry.At, body
	return nil
}

// CompleteOutbox deletes the entries of ids that owner still leases, once
// Splunk has confirmed them, and returns how many it deleted. Entries whose
// lease has passed to another owner are left alone: that owner will deliver
// them again, a duplicate Splunk tolerates where a loss would not be.
func (s *Store) CompleteOutbox(ctx context.Context, owner string, ids []int64) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(t tx) error {
		return forEachIDChunk(ids, s.d.MaxParams-1, func(chunk []any) error {
			res, err := t.exec(ctx, `DELETE FROM outbox WHERE lease_owner = ? AND id IN (`+params(len(chunk))+`)`, append([]any{owner}, chunk...)...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			n += k
			return err
		})
	})
	if err != nil {
		return 0, fmt.Errorf("complete %d outbox entries for %s: %w", len(ids), owner, err)
	}
	return n, nil
}

// RetryOutbox releases the entries of ids that owner still leases, to be
// claimed again from at, counting an attempt and keeping lastErr. It
// returns how many it released.
func (s *Store) RetryOutbox(ctx context.Context, owner string, ids []int64, at time.Time, lastErr string) (int64, error) {
	if len(lastErr) > maxOutboxError {
		lastErr = lastErr[:maxOutboxError]
	}
	var n int64
	err := s.inTx(ctx, func(t tx) error {
		return forEachIDChunk(ids, s.d.MaxParams-3, func(chunk []any) error {
			res, err := t.exec(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
				lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND id IN (`+params(len(chunk))+`)`,
				append([]any{micros(at), nullString(lastErr), owner}, chunk...)...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			n += k
			return err
		})
	})
	if err != nil {
		return 0, fmt.Errorf("release %d outbox entries for retry: %w", len(ids), err)
	}
	return n, nil
}

// DeadLetterOutbox moves entry id, if owner still leases it, to
// dead_letters with reason, in one transaction. It reports whether it moved
// the entry.
func (s *Store) DeadLetterOutbox(ctx context.Context, owner string, id int64, reason string) (bool, error) {
	moved := false
	err := s.inTx(ctx, func(t tx) error {
		// Deleting first, with RETURNING, makes the ownership check and the
		// removal one step even under READ COMMITTED.
		var orgID, sessionID string
		var seq int64
		var auditID sql.NullString
		err := t.queryRow(ctx, `DELETE FROM outbox WHERE id = ? AND lease_owner = ? RETURNING org_id, session_id, seq, audit_id`, id, owner).Scan(&orgID, &sessionID, &seq, &auditID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO dead_letters (org_id, session_id, seq, audit_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			orgID, sessionID, seq, auditID, reason, micros(s.now())); err != nil {
			return err
		}
		moved = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("dead-letter outbox entry %d: %w", id, err)
	}
	return moved, nil
}

// OutboxStats returns the outbox's depth, the enqueue time of its oldest
// entry, and the number of dead letters. Both counts scan their table.
func (s *Store) OutboxStats(ctx context.Context) (agentscope.OutboxStats, error) {
	var (
		st     agentscope.OutboxStats
		oldest sql.NullInt64
	)
	if err := s.queryRow(ctx, `SELECT count(*), min(COALESCE(created_at, next_attempt_at)) FROM outbox`).Scan(&st.QueueDepth, &oldest); err != nil {
		return st, fmt.Errorf("outbox stats: %w", err)
	}
	if oldest.Valid {
		st.OldestCreated = fromMicros(oldest.Int64)
	}
	if err := s.queryRow(ctx, `SELECT count(*) FROM dead_letters`).Scan(&st.DeadLetters); err != nil {
		return st, fmt.Errorf("dead letter count: %w", err)
	}
	return st, nil
}

// ListDeadLetters returns up to limit dead letters, oldest first, across
// all organisations.
func (s *Store) ListDeadLetters(ctx context.Context, limit int) ([]agentscope.DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.query(ctx, `SELECT d.id, d.org_id, d.session_id, d.seq, d.audit_id, e.event_id, COALESCE(e.type, a.action), d.reason, d.created_at
		FROM dead_letters d LEFT JOIN events e ON e.org_id = d.org_id AND e.session_id = d.session_id AND e.seq = d.seq
		LEFT JOIN audit_log a ON a.org_id = d.org_id AND a.id = d.audit_id
		ORDER BY d.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	out := []agentscope.DeadLetter{}
	for rows.Next() {
		var (
			d                     agentscope.DeadLetter
			auditID, eventID, typ sql.NullString
			created               int64
		)
		if err := rows.Scan(&d.ID, &d.OrgID, &d.SessionID, &d.Seq, &auditID, &eventID, &typ, &d.Reason, &created); err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		d.AuditID, d.EventID, d.Type, d.CreatedAt = auditID.String, eventID.String, typ.String, fromMicros(created)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// RetryDeadLetters moves the dead letters of ids back to the outbox, due
// now, and returns how many it moved.
func (s *Store) RetryDeadLetters(ctx context.Context, ids []int64) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(t tx) error {
		return forEachIDChunk(ids, s.d.MaxParams, func(chunk []any) error {
			k, err := s.requeueDeadLetters(ctx, t, `id IN (`+params(len(chunk))+`)`, chunk)
			n += k
			return err
		})
	})
	if err != nil {
		return 0, fmt.Errorf("retry %d dead letters: %w", len(ids), err)
	}
	return n, nil
}

// RetryAllDeadLetters moves every dead letter back to the outbox, due now,
// in transactions of bounded size, and returns how many it moved.
func (s *Store) RetryAllDeadLetters(ctx context.Context) (int64, error) {
	const chunk = 1000
	var total int64
	for {
		var n int64
		err := s.inTx(ctx, func(t tx) error {
			var err error
			n, err = s.requeueDeadLetters(ctx, t, `id IN (SELECT id FROM dead_letters ORDER BY id LIMIT ?)`, []any{chunk})
			return err
		})
		if err != nil {
			return total, fmt.Errorf("retry all dead letters: %w", err)
		}
		total += n
		if n < chunk {
			return total, nil
		}
	}
}

// requeueDeadLetters deletes the dead letters matching where and enqueues
// their events again. Deleting with RETURNING first means two concurrent
// retries cannot both enqueue the same letter.
func (s *Store) requeueDeadLetters(ctx context.Context, t tx, where string, args []any) (int64, error) {
	rows, err := t.query(ctx, `DELETE FROM dead_letters WHERE `+where+` RETURNING org_id, session_id, seq, audit_id`, args...)
	if err != nil {
		return 0, err
	}
	var vals []any
	for rows.Next() {
		var orgID, sessionID string
		var seq int64
		var auditID sql.NullString
		if err := rows.Scan(&orgID, &sessionID, &seq, &auditID); err != nil {
			rows.Close()
			return 0, err
		}
		vals = append(vals, orgID, sessionID, seq, auditID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	now := micros(s.now())
	const fields, cols = 4, 6
	per := s.d.MaxParams / cols
	for i := 0; i < len(vals); i += per * fields {
		part := vals[i:min(len(vals), i+per*fields)]
		n := len(part) / fields
		args := make([]any, 0, n*cols)
		for j := 0; j < len(part); j += fields {
			args = append(args, part[j], part[j+1], part[j+2], part[j+3], now, now)
		}
		if _, err := t.exec(ctx, `INSERT INTO outbox (org_id, session_id, seq, audit_id, next_attempt_at, created_at) VALUES `+placeholders(n, cols), args...); err != nil {
			return 0, err
		}
	}
	return int64(len(vals) / fields), nil
}

// forEachIDChunk calls fn with ids in chunks of at most per, as []any for
// bind arguments.
func forEachIDChunk(ids []int64, per int, fn func([]any) error) error {
	for len(ids) > 0 {
		n := min(per, len(ids))
		chunk := make([]any, n)
		for i, id := range ids[:n] {
			chunk[i] = id
		}
		ids = ids[n:]
		if err := fn(chunk); err != nil {
			return err
		}
	}
	return nil
}

func entryIDs(entries []agentscope.OutboxEntry) []int64 {
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

// params returns "?,?,…" for n bind parameters.
func params(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }
