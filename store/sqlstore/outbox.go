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

// The outbox holds one row per run of a session's events that one commit
// appended (seq through seq_end, at most maxOutboxRun events), and one per
// audit log entry (audit_id), that Splunk has not yet confirmed. A
// forwarder claims rows with a lease and gets one entry per event; it then
// completes entries (deletes them), releases them for a later retry, or
// moves them to dead_letters. Settling only part of a row splits it: the
// row keeps one run of the rest, new rows (origin: the row they came from)
// take the others, and an entry stays named by the row id it was claimed
// under (OutboxRef) wherever its seq now is.
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

// rowEvents is the number of events (or the one audit entry) a row covers.
const rowEvents = `(COALESCE(seq_end, seq) - seq + 1)`

const claimCols = `COALESCE(o.origin, o.id), o.org_id, o.session_id, o.seq, COALESCE(o.seq_end, o.seq), o.attempts, o.last_error,
	e.seq, e.event_id, e.type, e.agent, e.ts, e.body,
	o.audit_id, a.at, a.actor, a.action, a.target, a.detail`

// claimJoins joins a claimed row with its events, or with its audit log
// entry (audit_id): an audit entry's session_id is ”, which no event has,
// and an event's audit_id is NULL, which matches nothing.
const claimJoins = `LEFT JOIN events e ON e.org_id = o.org_id AND e.session_id = o.session_id AND e.seq BETWEEN o.seq AND COALESCE(o.seq_end, o.seq)
LEFT JOIN audit_log a ON a.org_id = o.org_id AND a.id = o.audit_id`

// dueRows selects the ids of the due rows, in claim order, that a claim of
// limit events takes: whole rows, while the events before each are fewer
// than limit (so at most limit + maxOutboxRun - 1 events). Binds: now,
// now, limit (rows), limit (events).
const dueRows = `SELECT id FROM (
		SELECT id, sum` + rowEvents + ` OVER (ORDER BY next_attempt_at, id) - ` + rowEvents + ` AS before
		FROM outbox
		WHERE next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY next_attempt_at, id
		LIMIT ?
	) c WHERE c.before < ?`

// claimUpdatePG leases due rows, locked with SKIP LOCKED so concurrent
// claimers in any number of processes take disjoint sets without waiting
// on each other, and returns them with the time each was first enqueued
// (created_at). The candidates are read without locks; the locking read
// checks again that each is still due.
const claimUpdatePG = `WITH claimed AS (
	UPDATE outbox o SET lease_owner = ?, lease_until = ?, next_attempt_at = ?,
		created_at = COALESCE(o.created_at, o.next_attempt_at)
	FROM (
		SELECT id FROM outbox
		WHERE id IN (` + dueRows + `) AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY next_attempt_at, id
		FOR UPDATE SKIP LOCKED
	) due
	WHERE o.id = due.id
	RETURNING o.id, o.origin, o.org_id, o.session_id, o.seq, o.seq_end, o.attempts, o.last_error, o.audit_id, o.created_at
)`

// claimRowsPG is the Postgres claim: the claimed rows, without their
// events (the hot outbox holds them, or claimedEventsPG reads them), with
// their audit entries.
const claimRowsPG = claimUpdatePG + `
SELECT COALESCE(o.origin, o.id), o.org_id, o.session_id, o.seq, COALESCE(o.seq_end, o.seq), o.attempts, o.last_error, o.created_at,
	o.audit_id, a.at, a.actor, a.action, a.target, a.detail
FROM claimed o LEFT JOIN audit_log a ON a.org_id = o.org_id AND a.id = o.audit_id
ORDER BY o.id`

// claimedEventsPG reads the events of claimed rows given as arrays, in the
// layout of claimCols, for scanOutboxEntries. Given a plain join, the
// planner read far more of events than the rows cover: before the table's
// first ANALYZE it took events_by_session_ts (seq is not a leading column
// there, so each row read its whole session), and after it, a sequential
// scan of every event for a hash join (36 ms for 2,000 events from a table
// of 20,000, growing with the table). As a lateral subquery each row reads
// its own seq range from the primary key; its ORDER BY keeps the planner
// from pulling it up into the plain join again.
const claimedEventsPG = `SELECT o.id, o.org_id, o.session_id, o.seq, o.seq_end, o.attempts, o.last_error,
	e.seq, e.event_id, e.type, e.agent, e.ts, e.body,
	NULL::text, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::text
FROM unnest(?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[]) WITH ORDINALITY AS o(id, org_id, session_id, seq, seq_end, attempts, last_error, i)
LEFT JOIN LATERAL (SELECT e.seq, e.event_id, e.type, e.agent, e.ts, e.body FROM events e
	WHERE e.org_id = o.org_id AND e.session_id = o.session_id AND e.seq >= o.seq AND e.seq <= o.seq_end
	ORDER BY e.seq) e ON true
ORDER BY o.i, e.seq`

// claimRowsSQLite reads due rows, as claimRowsPG returns them after its
// row's own id, inside claimOutboxSQLite's IMMEDIATE transaction: SQLite
// has one writer at a time, across processes too, so nothing can claim
// the same rows between this read and the update that follows it.
const claimRowsSQLite = `SELECT o.id, COALESCE(o.origin, o.id), o.org_id, o.session_id, o.seq, COALESCE(o.seq_end, o.seq), o.attempts, o.last_error,
	COALESCE(o.created_at, o.next_attempt_at), o.audit_id, a.at, a.actor, a.action, a.target, a.detail
FROM outbox o LEFT JOIN audit_log a ON a.org_id = o.org_id AND a.id = o.audit_id
WHERE o.id IN (` + dueRows + `)
ORDER BY o.next_attempt_at, o.id`

// claimEventsSQLite reads outbox rows joined with their events, for a
// WHERE and ORDER BY of the caller's.
const claimEventsSQLite = `SELECT o.id, ` + claimCols + `
FROM outbox o ` + claimJoins

// ClaimOutbox leases due rows to owner for lease and returns their entries
// in enqueue order, one per event: up to limit entries, or past it by less
// than one row's (maxOutboxRun) when the last row is long. Due rows are
// those whose next_attempt_at has passed and that no live lease holds.
// Entries claimed by one call are never returned by another call until the
// lease expires or the owner releases them.
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
	args := []any{owner, until, until, now, now, limit, limit, now, now}
	if s.pipe == nil {
		return nil, errors.New("postgres store has no pipe") // postgres.Open sets one
	}
	// Over a pipe: the rows in one round trip, their events from the hot
	// outbox or a second one (claimHot).
	p, err := s.pipe(ctx)
	if err != nil {
		return nil, err
	}
	defer p.Release()
	return s.claimHot(ctx, p, args, limit, now)
}

// claimedRow is an outbox row a claim leased, read without its events.
type claimedRow struct {
	rowID    int64                  // the row's own id (SQLite)
	entry    agentscope.OutboxEntry // the row's first entry, without its event
	to       int64
	enqueued sql.NullInt64
	audit    auditColumns
	hit      bool
}

// scanClaimedRows reads claimed rows (claimRowsPG's columns), each
// preceded by the row's own id when withRowID.
func scanClaimedRows(rows Rows, withRowID bool) ([]claimedRow, error) {
	var claimed []claimedRow
	for rows.Next() {
		var r claimedRow
		var lastErr, auditID sql.NullString
		dest := []any{&r.entry.ID, &r.entry.OrgID, &r.entry.SessionID, &r.entry.Seq, &r.to, &r.entry.Attempts, &lastErr, &r.enqueued,
			&auditID, &r.audit.at, &r.audit.actor, &r.audit.action, &r.audit.target, &r.audit.detail}
		if withRowID {
			dest = append([]any{&r.rowID}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan claimed outbox row: %w", err)
		}
		r.entry.LastError, r.entry.AuditID = lastErr.String, auditID.String
		claimed = append(claimed, r)
	}
	return claimed, nil
}

// claimHot is the claim over p of a store with a hot outbox: it leases
// the rows without their events, takes the events of each row from the
// hot outbox, and reads from the database, in a second round trip, only
// the events of the rows it does not hold.
func (s *Store) claimHot(ctx context.Context, p Pipe, args []any, limit int, now int64) ([]agentscope.OutboxEntry, error) {
	s.hot.claiming.Store(true) // from now on, commits are kept for claims
	var claimed []claimedRow
	err := p.Send(ctx, s.generic(Stmt{SQL: s.d.rebind(claimRowsPG), Args: args, Rows: func(rows Rows) (err error) {
		claimed, err = scanClaimedRows(rows, false)
		return err
	}}))
	if err != nil {
		return nil, err
	}
	return s.takeHot(claimed, now, func(miss []*claimedRow) ([]agentscope.OutboxEntry, error) {
		var a struct {
			id, seq, end, attempts []int64
			org, session           []string
			lastErr                []*string
		}
		for _, r := range miss {
			a.id, a.seq, a.end = append(a.id, r.entry.ID), append(a.seq, r.entry.Seq), append(a.end, r.to)
			a.org, a.session = append(a.org, r.entry.OrgID), append(a.session, r.entry.SessionID)
			a.attempts = append(a.attempts, int64(r.entry.Attempts))
			var le *string
			if r.entry.LastError != "" {
				le = &r.entry.LastError
			}
			a.lastErr = append(a.lastErr, le)
		}
		var read []agentscope.OutboxEntry
		err := p.Send(ctx, s.generic(Stmt{SQL: s.d.rebind(claimedEventsPG),
			Args: []any{a.id, a.org, a.session, a.seq, a.end, a.attempts, a.lastErr},
			Rows: func(rows Rows) error {
				var err error
				read, _, err = scanOutboxEntries(rows, limit, false)
				return err
			}}))
		return read, err
	})
}

// takeHot returns the entries of the claimed rows in claim order: each
// row's events from the hot outbox when it holds them all, the others'
// from read, which reads the rows given (in that order) from the database
// and returns one entry per seq of each.
func (s *Store) takeHot(claimed []claimedRow, now int64, read func([]*claimedRow) ([]agentscope.OutboxEntry, error)) ([]agentscope.OutboxEntry, error) {
	// Each row's entries go straight into out, in claim order, but for
	// the rows the hot outbox does not hold (hit false), read after.
	total := 0
	for _, r := range claimed {
		total += int(r.to - r.entry.Seq + 1)
	}
	out := make([]agentscope.OutboxEntry, 0, total)
	var miss []*claimedRow
	for i := range claimed {
		r := &claimed[i]
		switch {
		case r.entry.AuditID != "":
			e := r.entry
			if err := r.audit.fill(&e); err != nil {
				return nil, err
			}
			out, r.hit = append(out, e), true
		case r.enqueued.Valid:
			out, r.hit = s.hot.take(r.entry.OrgID, r.entry.SessionID, r.entry.Seq, r.to, r.enqueued.Int64, now, out, r.entry)
		}
		if !r.hit {
			miss = append(miss, r)
		}
	}
	if len(miss) == 0 {
		return out, nil
	}
	got, err := read(miss)
	if err != nil {
		return nil, fmt.Errorf("read the events of claimed rows: %w", err)
	}
	// Merge in claim order: the held rows' entries are in out, in order;
	// read gave every row one entry per seq of it, in the order asked.
	merged := make([]agentscope.OutboxEntry, 0, total)
	for _, r := range claimed {
		n := int(r.to - r.entry.Seq + 1)
		if r.entry.AuditID != "" {
			n = 1
		}
		src := &out
		if !r.hit {
			src = &got
		}
		if n > len(*src) {
			return nil, fmt.Errorf("read the events of claimed rows: %d entries short", n-len(*src))
		}
		merged, *src = append(merged, (*src)[:n]...), (*src)[n:]
	}
	return merged, nil
}

// generic wraps stmt in a transaction that plans it generically
// (Dialect.GenericPlans), when the dialect has that setting: planning the
// claim for its arguments took about 5 ms of the database's CPU on every
// claim, and planning a completion about 0.25 ms on every HEC batch (a
// custom plan for each: its bind was twice as long as its execution), and
// neither's plan depends on them (the due rows are found by the outbox's
// own order, their events and the completed rows by primary key).
func (s *Store) generic(stmt Stmt) []Stmt {
	if s.d.GenericPlans == "" {
		return []Stmt{stmt}
	}
	return []Stmt{{SQL: "BEGIN"}, {SQL: s.d.GenericPlans}, stmt, {SQL: "COMMIT"}}
}

func (s *Store) claimOutboxSQLite(ctx context.Context, owner string, limit int, now, until int64) ([]agentscope.OutboxEntry, error) {
	var entries []agentscope.OutboxEntry
	err := s.inTx(ctx, func(t tx) error {
		var (
			rowIDs []int64
			err    error
		)
		entries, rowIDs, err = s.claimHotSQLite(ctx, t, limit, now)
		if err != nil {
			return err
		}
		return forEachIDChunk(rowIDs, s.d.MaxParams-3, func(ids []any) error {
			args := append([]any{owner, until, until}, ids...)
			_, err := t.exec(ctx, `UPDATE outbox SET lease_owner = ?, lease_until = ?, next_attempt_at = ?,
				created_at = COALESCE(created_at, next_attempt_at) WHERE id IN (`+params(len(ids))+`)`, args...)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// claimHotSQLite reads the due rows without their events, which come from
// the hot outbox or, for the rows it does not hold, a second read in t.
func (s *Store) claimHotSQLite(ctx context.Context, t tx, limit int, now int64) ([]agentscope.OutboxEntry, []int64, error) {
	s.hot.claiming.Store(true) // from now on, commits are kept for claims
	rows, err := t.query(ctx, claimRowsSQLite, now, now, limit, limit)
	if err != nil {
		return nil, nil, err
	}
	claimed, err := scanClaimedRows(rows, true)
	if err == nil {
		err = rows.Err()
	}
	rows.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("read outbox rows: %w", err)
	}
	rowIDs := make([]int64, len(claimed))
	for i, r := range claimed {
		rowIDs[i] = r.rowID
	}
	entries, err := s.takeHot(claimed, now, func(miss []*claimedRow) ([]agentscope.OutboxEntry, error) {
		ids := make([]int64, len(miss))
		for i, r := range miss {
			ids[i] = r.rowID
		}
		var read []agentscope.OutboxEntry
		err := forEachIDChunk(ids, s.d.MaxParams, func(chunk []any) error {
			rows, err := t.query(ctx, claimEventsSQLite+` WHERE o.id IN (`+params(len(chunk))+`) ORDER BY o.next_attempt_at, o.id, e.seq`, chunk...)
			if err != nil {
				return err
			}
			defer rows.Close()
			got, _, err := scanOutboxEntries(rows, limit, true)
			if err == nil {
				err = rows.Err()
			}
			read = append(read, got...)
			return err
		})
		return read, err
	})
	return entries, rowIDs, err
}

// scanOutboxEntries reads a claim's rows: each outbox row joined with its
// events (or audit entry), in order. An event a row covers that the events
// table lacks, which only a damaged database produces, becomes an entry
// without a body, to be dead-lettered. withRowID: each result row starts
// with the outbox row's own id, returned once per row. The caller closes
// rows and checks their error.
func scanOutboxEntries(rows Rows, capacity int, withRowID bool) ([]agentscope.OutboxEntry, []int64, error) {
	var (
		entries = make([]agentscope.OutboxEntry, 0, min(capacity, 4096))
		rowIDs  []int64
		// The row being read: its first entry and its last seq; next is
		// the seq its next entry should have.
		cur        agentscope.OutboxEntry
		curStart   int64
		curEnd     int64
		next       int64
		curRowID   int64
		inRow      bool
		fillToNext = func(upto int64) { // entries without a body for seqs [next, upto)
			for ; next < upto; next++ {
				e := cur
				e.Seq = next
				entries = append(entries, e)
			}
		}
	)
	for rows.Next() {
		var (
			e                   agentscope.OutboxEntry
			rowID, rowEnd       int64
			lastErr             sql.NullString
			seq                 sql.NullInt64
			eventID, typ, agent sql.NullString
			ts                  sql.NullInt64
			body                []byte
			auditID             sql.NullString
			audit               auditColumns
		)
		dest := []any{&e.ID, &e.OrgID, &e.SessionID, &e.Seq, &rowEnd, &e.Attempts, &lastErr, &seq, &eventID, &typ, &agent, &ts, &body,
			&auditID, &audit.at, &audit.actor, &audit.action, &audit.target, &audit.detail}
		if withRowID {
			dest = append([]any{&rowID}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("scan outbox entry: %w", err)
		}
		e.LastError = lastErr.String
		// A row is its own id (SQLite) or, as Postgres returns no more, the
		// id its entries carry and its first seq: rows split from one
		// origin never overlap.
		if !inRow || rowID != curRowID || e.ID != cur.ID || e.Seq != curStart {
			if inRow {
				fillToNext(curEnd + 1)
			}
			cur, curStart, curEnd, next, curRowID, inRow = e, e.Seq, rowEnd, e.Seq, rowID, true
			if withRowID {
				rowIDs = append(rowIDs, rowID)
			}
		}
		if e.AuditID = auditID.String; e.AuditID != "" {
			if err := audit.fill(&e); err != nil {
				return nil, nil, err
			}
			entries = append(entries, e)
			next = curEnd + 1
			continue
		}
		if !seq.Valid {
			continue // no event of the row is stored: fillToNext makes its entries
		}
		fillToNext(seq.Int64)
		e.Seq, e.EventID, e.Type, e.Agent = seq.Int64, eventID.String, typ.String, agent.String
		if ts.Valid {
			e.TS = fromMicros(ts.Int64)
		}
		if body != nil {
			e.Body = json.RawMessage(body)
		}
		entries = append(entries, e)
		next = seq.Int64 + 1
	}
	if inRow {
		fillToNext(curEnd + 1)
	}
	return entries, rowIDs, nil
}

// outboxRow is an outbox row as the settling calls read and write it.
type outboxRow struct {
	id     int64
	origin int64 // the id its entries carry: its origin's, or its own
	org    string
	sess   string
	from   int64
	to     int64
	// The lease and retry columns, copied to the rows a split makes.
	attempts   int64
	nextAt     int64
	owner      sql.NullString
	leaseUntil sql.NullInt64
	lastErr    sql.NullString
	createdAt  sql.NullInt64
	auditID    sql.NullString
}

// heldRow is a row owner leases with the seqs of it that a settling call
// names, sorted and distinct.
type heldRow struct {
	outboxRow
	picked []int64
}

// whole reports whether the call names every entry of the row.
func (h *heldRow) whole() bool { return int64(len(h.picked)) == h.to-h.from+1 }

// seqRun is the seqs from through to.
type seqRun struct{ from, to int64 }

// runsOf returns seqs, sorted and distinct, as runs.
func runsOf(seqs []int64) []seqRun {
	var out []seqRun
	for _, q := range seqs {
		if n := len(out); n > 0 && out[n-1].to+1 == q {
			out[n-1].to = q
			continue
		}
		out = append(out, seqRun{q, q})
	}
	return out
}

// rest returns the runs of h's seqs that the call does not name.
func (h *heldRow) rest() []seqRun {
	var out []seqRun
	next := h.from
	for _, q := range h.picked {
		if q > next {
			out = append(out, seqRun{next, q - 1})
		}
		next = q + 1
	}
	if next <= h.to {
		out = append(out, seqRun{next, h.to})
	}
	return out
}

// heldRows reads the rows owner leases that hold refs' entries, locked for
// the transaction, each with the seqs refs name in it. Refs to rows owner
// does not lease (any more) are left out: their entries are another's now.
func (s *Store) heldRows(ctx context.Context, t tx, owner string, refs []agentscope.OutboxRef) ([]*heldRow, error) {
	ids := make([]int64, 0, len(refs))
	for _, r := range refs {
		if n := len(ids); n == 0 || ids[n-1] != r.ID {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	byOrigin := make(map[int64][]*heldRow, len(ids))
	var held []*heldRow
	err := forEachIDChunk(ids, (s.d.MaxParams-1)/2, func(chunk []any) error {
		in := params(len(chunk))
		args := append(append([]any{owner}, chunk...), chunk...)
		rows, err := t.query(ctx, `SELECT id, COALESCE(origin, id), org_id, session_id, seq, COALESCE(seq_end, seq), attempts, next_attempt_at,
			lease_owner, lease_until, last_error, created_at, audit_id
			FROM outbox WHERE lease_owner = ? AND (id IN (`+in+`) OR origin IN (`+in+`)) ORDER BY id`+s.d.LockSuffix, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			h := &heldRow{}
			if err := rows.Scan(&h.id, &h.origin, &h.org, &h.sess, &h.from, &h.to, &h.attempts, &h.nextAt,
				&h.owner, &h.leaseUntil, &h.lastErr, &h.createdAt, &h.auditID); err != nil {
				return err
			}
			byOrigin[h.origin] = append(byOrigin[h.origin], h)
			held = append(held, h)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		for _, h := range byOrigin[r.ID] {
			if h.from <= r.Seq && r.Seq <= h.to {
				h.picked = append(h.picked, r.Seq)
				break
			}
		}
	}
	out := held[:0]
	for _, h := range held {
		if len(h.picked) > 0 {
			slices.Sort(h.picked)
			h.picked = slices.Compact(h.picked)
			out = append(out, h)
		}
	}
	return out, nil
}

// keepRest leaves h holding only the seqs the call did not name, still
// leased as they were: h keeps the first run, new rows (origin h's) the
// others. With none left it deletes h.
func (s *Store) keepRest(ctx context.Context, t tx, h *heldRow) error {
	rest := h.rest()
	if len(rest) == 0 {
		_, err := t.exec(ctx, `DELETE FROM outbox WHERE id = ?`, h.id)
		return err
	}
	if _, err := t.exec(ctx, `UPDATE outbox SET seq = ?, seq_end = ? WHERE id = ?`, rest[0].from, rest[0].to, h.id); err != nil {
		return err
	}
	for _, run := range rest[1:] {
		if err := s.insertSplit(ctx, t, h.outboxRow, run); err != nil {
			return err
		}
	}
	return nil
}

// insertSplit writes the seqs of run as a new row with r's other columns
// and origin.
func (s *Store) insertSplit(ctx context.Context, t tx, r outboxRow, run seqRun) error {
	_, err := t.exec(ctx, `INSERT INTO outbox (org_id, session_id, seq, seq_end, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at, audit_id, origin)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.org, r.sess, run.from, run.to, r.attempts, r.nextAt, r.owner, r.leaseUntil, r.lastErr, r.createdAt, r.auditID, r.origin)
	return err
}

// settle runs fn, in one transaction, on the rows owner leases that hold
// refs' entries, and returns how many entries they held.
func (s *Store) settle(ctx context.Context, owner string, refs []agentscope.OutboxRef, fn func(t tx, held []*heldRow) error) (int64, error) {
	if len(refs) == 0 {
		return 0, nil
	}
	var n int64
	err := s.inTx(ctx, func(t tx) error {
		held, err := s.heldRows(ctx, t, owner, refs)
		if err != nil {
			return err
		}
		n = 0
		for _, h := range held {
			n += int64(len(h.picked))
		}
		return fn(t, held)
	})
	return n, err
}

// CompleteOutbox deletes the entries of refs that owner still leases, once
// Splunk has confirmed them, and returns how many it deleted. Entries whose
// lease has passed to another owner are left alone: that owner will deliver
// them again, a duplicate Splunk tolerates where a loss would not be.
func (s *Store) CompleteOutbox(ctx context.Context, owner string, refs []agentscope.OutboxRef) (int64, error) {
	var whole int64
	if s.pipe != nil && s.d.ArrayParams && len(refs) > 0 {
		var err error
		if refs, whole, err = s.completeWholeRows(ctx, owner, refs); err != nil {
			return 0, fmt.Errorf("complete %d outbox entries for %s: %w", len(refs), owner, err)
		}
		if len(refs) == 0 {
			return whole, nil
		}
	}
	n, err := s.settle(ctx, owner, refs, func(t tx, held []*heldRow) error {
		var whole []int64
		for _, h := range held {
			if h.whole() {
				whole = append(whole, h.id)
			} else if err := s.keepRest(ctx, t, h); err != nil {
				return err
			}
		}
		return forEachIDChunk(whole, s.d.MaxParams, func(chunk []any) error {
			_, err := t.exec(ctx, `DELETE FROM outbox WHERE id IN (`+params(len(chunk))+`)`, chunk...)
			return err
		})
	})
	if err != nil {
		return 0, fmt.Errorf("complete %d outbox entries for %s: %w", len(refs), owner, err)
	}
	return whole + n, nil
}

// completeWholeRowsPG deletes the rows owner leases whose every entry refs
// name, each still as it was claimed (its own id, its seqs exactly those
// named), and returns how many entries they held.
const completeWholeRowsPG = `DELETE FROM outbox o USING unnest(?::bigint[], ?::bigint[], ?::bigint[]) AS r(id, lo, hi)
WHERE o.id = r.id AND (o.origin IS NULL OR o.origin = o.id) AND o.lease_owner = ?
	AND o.seq = r.lo AND COALESCE(o.seq_end, o.seq) = r.hi
RETURNING o.id`

// completeWholeRows is the usual completion, a batch of whole rows, in one
// statement and one round trip over a pipe, where settle reads and locks
// the rows first and takes a round trip per statement (the forwarder's
// completions were most of what forwarding cost Postgres). It returns the
// refs it did not settle so, for settle: those of rows it did not find
// whole, as claimed, under owner's lease (settled in part before, split,
// or leased by another now), and of rows refs name only in part.
func (s *Store) completeWholeRows(ctx context.Context, owner string, refs []agentscope.OutboxRef) (rest []agentscope.OutboxRef, n int64, err error) {
	sorted := slices.Clone(refs)
	slices.SortFunc(sorted, func(a, b agentscope.OutboxRef) int {
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	sorted = slices.Compact(sorted)
	// Each row's refs as a run of seqs, if they are one.
	type run struct {
		id, lo, hi int64
		refs       []agentscope.OutboxRef
	}
	var runs []run
	var ids, los, his []int64
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j].ID == sorted[i].ID {
			j++
		}
		r := run{id: sorted[i].ID, lo: sorted[i].Seq, hi: sorted[j-1].Seq, refs: sorted[i:j]}
		if r.hi-r.lo+1 == int64(j-i) {
			runs = append(runs, r)
			ids, los, his = append(ids, r.id), append(los, r.lo), append(his, r.hi)
		} else {
			rest = append(rest, r.refs...)
		}
		i = j
	}
	if len(runs) == 0 {
		return rest, 0, nil
	}
	p, err := s.pipe(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer p.Release()
	deleted := make(map[int64]bool, len(runs))
	err = p.Send(ctx, s.generic(Stmt{SQL: s.d.rebind(completeWholeRowsPG), Args: []any{ids, los, his, owner}, Rows: func(rows Rows) error {
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			deleted[id] = true
		}
		return nil
	}}))
	if err != nil {
		return nil, 0, err
	}
	for _, r := range runs {
		if deleted[r.id] {
			n += r.hi - r.lo + 1
		} else {
			rest = append(rest, r.refs...)
		}
	}
	return rest, n, nil
}

// RetryOutbox releases the entries of refs that owner still leases, to be
// claimed again from at, counting an attempt and keeping lastErr. It
// returns how many it released.
func (s *Store) RetryOutbox(ctx context.Context, owner string, refs []agentscope.OutboxRef, at time.Time, lastErr string) (int64, error) {
	if len(lastErr) > maxOutboxError {
		lastErr = lastErr[:maxOutboxError]
	}
	n, err := s.settle(ctx, owner, refs, func(t tx, held []*heldRow) error {
		var whole []int64
		for _, h := range held {
			if h.whole() {
				whole = append(whole, h.id)
				continue
			}
			if err := s.keepRest(ctx, t, h); err != nil {
				return err
			}
			released := h.outboxRow
			released.attempts, released.nextAt, released.lastErr = h.attempts+1, micros(at), sql.NullString{String: lastErr, Valid: lastErr != ""}
			released.owner, released.leaseUntil = sql.NullString{}, sql.NullInt64{}
			for _, run := range runsOf(h.picked) {
				if err := s.insertSplit(ctx, t, released, run); err != nil {
					return err
				}
			}
		}
		return forEachIDChunk(whole, s.d.MaxParams-2, func(chunk []any) error {
			_, err := t.exec(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
				lease_owner = NULL, lease_until = NULL WHERE id IN (`+params(len(chunk))+`)`,
				append([]any{micros(at), nullString(lastErr)}, chunk...)...)
			return err
		})
	})
	if err != nil {
		return 0, fmt.Errorf("release %d outbox entries for retry: %w", len(refs), err)
	}
	return n, nil
}

// DeadLetterOutbox moves entry ref, if owner still leases it, to
// dead_letters with reason, in one transaction. It reports whether it moved
// the entry.
func (s *Store) DeadLetterOutbox(ctx context.Context, owner string, ref agentscope.OutboxRef, reason string) (bool, error) {
	n, err := s.settle(ctx, owner, []agentscope.OutboxRef{ref}, func(t tx, held []*heldRow) error {
		for _, h := range held {
			if err := s.keepRest(ctx, t, h); err != nil {
				return err
			}
			if _, err := t.exec(ctx, `INSERT INTO dead_letters (org_id, session_id, seq, audit_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				h.org, h.sess, h.picked[0], h.auditID, reason, micros(s.now())); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("dead-letter outbox entry %d/%d: %w", ref.ID, ref.Seq, err)
	}
	return n > 0, nil
}

// OutboxStats returns the outbox's depth, the enqueue time of its oldest
// entry, and the number of dead letters. Both counts scan their table.
func (s *Store) OutboxStats(ctx context.Context) (agentscope.OutboxStats, error) {
	var (
		st     agentscope.OutboxStats
		oldest sql.NullInt64
	)
	if err := s.queryRow(ctx, `SELECT COALESCE(sum`+rowEvents+`, 0), min(COALESCE(created_at, next_attempt_at)) FROM outbox`).Scan(&st.QueueDepth, &oldest); err != nil {
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

// params returns "?,?,…" for n bind parameters.
func params(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

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
