package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// Append implements agentscope.Store. All requests share one transaction of
// a fixed number of set-based statements (lock the runs, look up repeated
// event ids, insert events and outbox entries, update the runs), whatever
// the batch size. If the transaction fails as a whole (a database error
// rather than a request's own fault), each request is retried alone so one
// bad request cannot sink the others.
func (s *Store) Append(ctx context.Context, reqs []agentscope.AppendRequest) []agentscope.AppendResult {
	return s.AppendTx(ctx, reqs, nil)
}

// AppendTx is Append with a hook that runs inside the same transaction after
// the requests' writes, when all of them succeeded — for work that must
// commit atomically with them, such as inserting a River job beside a queued
// run. If the hook fails, nothing commits and every result carries its
// error. With a hook, the requests are not retried one by one.
func (s *Store) AppendTx(ctx context.Context, reqs []agentscope.AppendRequest, hook func(ctx context.Context, tx *sql.Tx) error) []agentscope.AppendResult {
	var results []agentscope.AppendResult
	err := s.inTx(ctx, func(t tx) error {
		var err error
		results, err = s.appendBatch(ctx, t, reqs)
		if err != nil || hook == nil {
			return err
		}
		for _, r := range results {
			if r.Err != nil {
				return r.Err
			}
		}
		return hook(ctx, t.Tx)
	})
	if err == nil {
		return results
	}
	results = make([]agentscope.AppendResult, len(reqs))
	if len(reqs) == 1 || hook != nil {
		for i := range results {
			results[i] = agentscope.AppendResult{Err: err}
		}
		return results
	}
	for i := range reqs {
		results[i] = s.Append(ctx, reqs[i:i+1])[0]
	}
	return results
}

// runKey names a run across organisations.
type runKey struct{ org, session string }

// batch is the state of one group commit while its requests are checked.
type batch struct {
	runs    map[runKey]*agentscope.Run // locked existing runs and runs created in this batch
	created []runKey                   // runs this batch creates, in order
	touched []runKey                   // runs whose row must be updated, in order
	events  map[runKey]map[string]agentscope.Event
	rows    []eventRow
}

type eventRow struct {
	org string
	ev  *agentscope.Event
}

// appendBatch checks every request against the locked runs and the stored
// event ids, then writes what passed. A returned error is a database error;
// a request's own fault is in its result.
func (s *Store) appendBatch(ctx context.Context, t tx, reqs []agentscope.AppendRequest) ([]agentscope.AppendResult, error) {
	keys := make([]runKey, 0, len(reqs))
	for _, r := range reqs {
		keys = append(keys, runKey{r.OrgID, r.SessionID})
	}
	slices.SortFunc(keys, func(a, b runKey) int {
		if c := strings.Compare(a.org, b.org); c != 0 {
			return c
		}
		return strings.Compare(a.session, b.session)
	})
	keys = slices.Compact(keys)
	b := &batch{events: map[runKey]map[string]agentscope.Event{}}
	var err error
	if b.runs, err = s.lockRuns(ctx, t, keys); err != nil {
		return nil, err
	}
	if err := s.loadEventIDs(ctx, t, reqs, b); err != nil {
		return nil, err
	}
	now := s.now()
	results := make([]agentscope.AppendResult, len(reqs))
	for i, req := range reqs {
		results[i] = s.check(b, req, now)
	}
	if err := s.writeBatch(ctx, t, b); err != nil {
		return nil, err
	}
	return results, nil
}

// check applies one request to the batch state, or leaves it untouched and
// returns the request's error.
func (s *Store) check(b *batch, req agentscope.AppendRequest, now time.Time) agentscope.AppendResult {
	var res agentscope.AppendResult
	key := runKey{req.OrgID, req.SessionID}
	cur, exists := b.runs[key]
	var run agentscope.Run
	switch {
	case req.Start != nil && exists:
		res.Err = agentscope.Errorf(agentscope.ECONFLICT, "session %q already exists", req.SessionID)
		return res
	case req.Start != nil:
		run = *req.Start
		run.OrgID, run.SessionID, run.EventCount, run.CostUSD = req.OrgID, req.SessionID, 0, 0
		if run.CreatedAt.IsZero() {
			run.CreatedAt = now
		}
		run.CreatedAt = run.CreatedAt.UTC().Truncate(time.Microsecond)
	case !exists:
		res.Err = agentscope.Errorf(agentscope.ENOTFOUND, "session %q not found", req.SessionID)
		return res
	case cur.Status.Terminal() && (req.Update != nil || !agentscope.AnnotationsOnly(req.Events)):
		res.Err = agentscope.Errorf(agentscope.ECONFLICT, "session %q has ended (status %s); no more events are accepted", req.SessionID, cur.Status)
		return res
	default:
		run = *cur
	}
	stored := b.events[key]
	res.Events = make([]agentscope.Event, len(req.Events))
	res.Duplicate = make([]bool, len(req.Events))
	fresh := map[string]agentscope.Event{}
	var rows []eventRow
	for i, ev := range req.Events {
		if ev.EventID == "" {
			ev.EventID = agentscope.NewEventID()
		}
		if ev.TS.IsZero() {
			ev.TS = now
		}
		if ev.Agent != "" && ev.Agent != run.Agent {
			return agentscope.AppendResult{Err: agentscope.FieldErrorf("agent", "%q does not match the run's agent %q", ev.Agent, run.Agent)}
		}
		if ev.SessionID != "" && ev.SessionID != req.SessionID {
			return agentscope.AppendResult{Err: agentscope.FieldErrorf("session_id", "%q does not match the request's session %q", ev.SessionID, req.SessionID)}
		}
		if old, ok := stored[ev.EventID]; ok {
			res.Events[i], res.Duplicate[i] = old, true
			continue
		}
		if old, ok := fresh[ev.EventID]; ok {
			res.Events[i], res.Duplicate[i] = old, true
			continue
		}
		ev.Agent, ev.SessionID = run.Agent, req.SessionID
		run.EventCount++
		ev.Seq = run.EventCount
		if ev.Type == agentscope.CostRecorded && ev.AmountUSD != nil {
			run.CostUSD += *ev.AmountUSD
		}
		res.Events[i] = ev
		fresh[ev.EventID] = ev
	}
	if u := req.Update; u != nil {
		if err := applyUpdate(&run, u, now); err != nil {
			return agentscope.AppendResult{Err: err}
		}
	}
	// The request passed: fold it into the batch.
	for i := range res.Events {
		if !res.Duplicate[i] {
			ev := res.Events[i]
			rows = append(rows, eventRow{req.OrgID, &ev})
		}
	}
	b.rows = append(b.rows, rows...)
	if stored == nil {
		stored = map[string]agentscope.Event{}
		b.events[key] = stored
	}
	for id, ev := range fresh {
		stored[id] = ev
	}
	if !exists {
		b.created = append(b.created, key)
	}
	if !slices.Contains(b.touched, key) {
		b.touched = append(b.touched, key)
	}
	r := run
	b.runs[key] = &r
	res.Run = run
	return res
}

func applyUpdate(run *agentscope.Run, u *agentscope.RunUpdate, now time.Time) error {
	if !u.Status.Valid() {
		return agentscope.FieldErrorf("status", "unknown run status %q", u.Status)
	}
	if len(u.From) > 0 && !slices.Contains(u.From, run.Status) {
		return agentscope.Errorf(agentscope.ECONFLICT, "run %q is %s, not %s", run.SessionID, run.Status, joinStatuses(u.From))
	}
	run.Status = u.Status
	if len(u.Output) > 0 {
		run.Output = u.Output
	}
	if u.Error != "" {
		run.Error = u.Error
	}
	if u.Status == agentscope.StatusRunning && run.StartedAt == nil {
		run.StartedAt = &now
	}
	if u.Status.Terminal() {
		run.EndedAt = &now
	}
	return nil
}

func joinStatuses(ss []agentscope.RunStatus) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " or ")
}

// lockRuns reads the batch's existing runs, locking their rows in key order
// (so concurrent transactions of several processes cannot deadlock).
func (s *Store) lockRuns(ctx context.Context, t tx, keys []runKey) (map[runKey]*agentscope.Run, error) {
	runs := make(map[runKey]*agentscope.Run, len(keys))
	for chunk := range slices.Chunk(keys, s.d.MaxParams/2) {
		args := make([]any, 0, 2*len(chunk))
		for _, k := range chunk {
			args = append(args, k.org, k.session)
		}
		rows, err := t.query(ctx, `SELECT `+runCols+` FROM runs WHERE (org_id, session_id) IN (`+placeholders(len(chunk), 2)+`) ORDER BY org_id, session_id`+s.d.LockSuffix, args...)
		if err != nil {
			return nil, fmt.Errorf("lock runs: %w", err)
		}
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("lock runs: %w", err)
			}
			runs[runKey{r.OrgID, r.SessionID}] = &r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("lock runs: %w", err)
		}
	}
	return runs, nil
}

// loadEventIDs finds the stored events whose event_id the batch repeats:
// on Postgres in one join against the ids as arrays, on SQLite (in process)
// with one indexed lookup per session.
func (s *Store) loadEventIDs(ctx context.Context, t tx, reqs []agentscope.AppendRequest, b *batch) error {
	ids := map[runKey][]any{}
	var orgs, sessions, eventIDs []string
	for _, r := range reqs {
		k := runKey{r.OrgID, r.SessionID}
		for _, ev := range r.Events {
			if ev.EventID != "" {
				ids[k] = append(ids[k], ev.EventID)
				orgs, sessions, eventIDs = append(orgs, r.OrgID), append(sessions, r.SessionID), append(eventIDs, ev.EventID)
			}
		}
	}
	if len(eventIDs) == 0 {
		return nil
	}
	if s.d.ArrayParams {
		// LATERAL makes each id one lookup in events_by_event_id, whatever
		// the planner guesses of unnest's size: a join let it pick a scan
		// of the sessions' events that grew with them.
		rows, err := t.query(ctx, `SELECT e.org_id, e.body FROM unnest(?::text[], ?::text[], ?::text[]) AS u(o, s, i)
			CROSS JOIN LATERAL (SELECT org_id, body FROM events WHERE org_id = u.o AND session_id = u.s AND event_id = u.i) AS e`,
			orgs, sessions, eventIDs)
		if err != nil {
			return fmt.Errorf("find repeated events: %w", err)
		}
		return b.addStored(rows)
	}
	for k, list := range ids {
		for chunk := range slices.Chunk(list, s.d.MaxParams-2) {
			// INDEXED BY: without statistics SQLite prefers the primary
			// key's (org_id, session_id) range, a scan of the whole session.
			rows, err := t.query(ctx, `SELECT org_id, body FROM events INDEXED BY events_by_event_id WHERE org_id = ? AND session_id = ? AND event_id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+`)`,
				append([]any{k.org, k.session}, chunk...)...)
			if err != nil {
				return fmt.Errorf("find repeated events: %w", err)
			}
			if err := b.addStored(rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// addStored reads (org_id, body) rows of stored events into the batch, and
// closes them.
func (b *batch) addStored(rows *sql.Rows) error {
	defer rows.Close()
	for rows.Next() {
		var org string
		var body []byte
		if err := rows.Scan(&org, &body); err != nil {
			return fmt.Errorf("find repeated events: %w", err)
		}
		ev, err := DecodeStored(body)
		if err != nil {
			return err
		}
		k := runKey{org, ev.SessionID}
		if b.events[k] == nil {
			b.events[k] = map[string]agentscope.Event{}
		}
		b.events[k][ev.EventID] = ev
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find repeated events: %w", err)
	}
	return nil
}

// writeBatch writes the runs created, the events and outbox entries, and the
// runs' new state.
func (s *Store) writeBatch(ctx context.Context, t tx, b *batch) error {
	if err := s.createRuns(ctx, t, b); err != nil {
		return err
	}
	if err := s.insertEvents(ctx, t, b.rows); err != nil {
		return err
	}
	for _, k := range b.touched {
		r := b.runs[k]
		if _, err := t.exec(ctx, `UPDATE runs SET last_seq = ?, cost_nanos = ?, status = ?, output = ?, error = ?, started_at = ?, ended_at = ? WHERE org_id = ? AND session_id = ?`,
			r.EventCount, int64(r.CostUSD), string(r.Status), nullBytes(r.Output), nullString(r.Error),
			nullMicros(r.StartedAt), nullMicros(r.EndedAt), k.org, k.session); err != nil {
			return fmt.Errorf("update run %s: %w", k.session, err)
		}
	}
	return nil
}

func (s *Store) createRuns(ctx context.Context, t tx, b *batch) error {
	for _, k := range b.created {
		run := b.runs[k]
		if _, err := t.exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			run.OrgID, run.OrgID, micros(run.CreatedAt)); err != nil {
			return fmt.Errorf("ensure org: %w", err)
		}
		kind := agentscope.AgentExternal
		if run.Managed {
			kind = agentscope.AgentManaged
		}
		if _, err := t.exec(ctx, `INSERT INTO agents (org_id, name, kind, spec, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?) ON CONFLICT (org_id, name) DO NOTHING`,
			run.OrgID, run.Agent, string(kind), micros(run.CreatedAt), micros(run.CreatedAt)); err != nil {
			return fmt.Errorf("register agent: %w", err)
		}
		var meta []byte
		if len(run.Metadata) > 0 {
			var err error
			if meta, err = json.Marshal(run.Metadata); err != nil {
				return fmt.Errorf("encode metadata: %w", err)
			}
		}
		if _, err := t.exec(ctx, `INSERT INTO runs (org_id, session_id, agent, status, managed, input, metadata, created_at, last_seq, cost_nanos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`,
			run.OrgID, run.SessionID, run.Agent, string(run.Status), run.Managed, nullBytes(run.Input), nullBytes(meta), micros(run.CreatedAt)); err != nil {
			return fmt.Errorf("insert run: %w", err)
		}
	}
	return nil
}

const eventCols = 8

// insertEvents writes the events and, when forwarding is on, their outbox
// entries. Postgres takes each column as one array parameter (unnest), so a
// statement's cost does not grow with its bind list; SQLite, in process,
// takes multi-row VALUES.
func (s *Store) insertEvents(ctx context.Context, t tx, rows []eventRow) error {
	if len(rows) == 0 {
		return nil
	}
	cols := struct {
		org, session, id, typ, agent, body []string
		seq, ts                            []int64
	}{}
	for _, r := range rows {
		body, err := r.ev.MarshalCanonical()
		if err != nil {
			return fmt.Errorf("encode event %s: %w", r.ev.EventID, err)
		}
		cols.org = append(cols.org, r.org)
		cols.session = append(cols.session, r.ev.SessionID)
		cols.seq = append(cols.seq, r.ev.Seq)
		cols.id = append(cols.id, r.ev.EventID)
		cols.typ = append(cols.typ, string(r.ev.Type))
		cols.agent = append(cols.agent, r.ev.Agent)
		cols.ts = append(cols.ts, micros(r.ev.TS))
		cols.body = append(cols.body, string(body))
	}
	now := micros(s.now())
	if s.d.ArrayParams {
		if s.opts.Outbox {
			// One statement writes the events and their pending
			// deliveries: one round trip, the arrays sent once.
			if _, err := t.exec(ctx, `WITH e AS (INSERT INTO events (org_id, session_id, seq, event_id, type, agent, ts, body)
				SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])
				RETURNING org_id, session_id, seq)
				INSERT INTO outbox (org_id, session_id, seq, next_attempt_at) SELECT org_id, session_id, seq, ? FROM e`,
				cols.org, cols.session, cols.seq, cols.id, cols.typ, cols.agent, cols.ts, cols.body, now); err != nil {
				return fmt.Errorf("insert events and outbox: %w", err)
			}
			return nil
		}
		if _, err := t.exec(ctx, `INSERT INTO events (org_id, session_id, seq, event_id, type, agent, ts, body)
			SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])`,
			cols.org, cols.session, cols.seq, cols.id, cols.typ, cols.agent, cols.ts, cols.body); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		return nil
	}
	per := s.d.MaxParams / eventCols
	for start := 0; start < len(rows); start += per {
		end := min(start+per, len(rows))
		args := make([]any, 0, (end-start)*eventCols)
		oargs := make([]any, 0, (end-start)*4)
		for i := start; i < end; i++ {
			args = append(args, cols.org[i], cols.session[i], cols.seq[i], cols.id[i], cols.typ[i], cols.agent[i], cols.ts[i], cols.body[i])
			oargs = append(oargs, cols.org[i], cols.session[i], cols.seq[i], now)
		}
		if _, err := t.exec(ctx, `INSERT INTO events (org_id, session_id, seq, event_id, type, agent, ts, body) VALUES `+placeholders(end-start, eventCols), args...); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		if s.opts.Outbox {
			if _, err := t.exec(ctx, `INSERT INTO outbox (org_id, session_id, seq, next_attempt_at) VALUES `+placeholders(end-start, 4), oargs...); err != nil {
				return fmt.Errorf("insert outbox: %w", err)
			}
		}
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
