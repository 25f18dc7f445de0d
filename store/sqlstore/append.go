package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// Append implements agentscope.Store. All requests share one transaction; if
// it fails as a whole (a database error rather than a request's own fault),
// each request is retried alone so one bad request cannot sink the others.
func (s *Store) Append(ctx context.Context, reqs []agentscope.AppendRequest) []agentscope.AppendResult {
	return s.AppendTx(ctx, reqs, nil)
}

// AppendTx is Append with a hook that runs inside the same transaction after
// the requests' writes, when all of them succeeded — for work that must
// commit atomically with them, such as inserting a River job beside a queued
// run. If the hook fails, nothing commits and every result carries its
// error. With a hook, the requests are not retried one by one.
func (s *Store) AppendTx(ctx context.Context, reqs []agentscope.AppendRequest, hook func(ctx context.Context, tx *sql.Tx) error) []agentscope.AppendResult {
	results := make([]agentscope.AppendResult, len(reqs))
	// Lock runs in one global order so concurrent transactions of several
	// processes cannot deadlock.
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ra, rb := reqs[order[a]], reqs[order[b]]
		if ra.OrgID != rb.OrgID {
			return ra.OrgID < rb.OrgID
		}
		return ra.SessionID < rb.SessionID
	})
	err := s.inTx(ctx, func(t tx) error {
		for _, i := range order {
			r, err := s.appendOne(ctx, t, reqs[i])
			if err != nil && agentscope.ErrorCode(err) == agentscope.EINTERNAL {
				return err
			}
			r.Err = err
			results[i] = r
		}
		if hook == nil {
			return nil
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

// appendOne applies one request inside t. It performs every check before its
// first write, so a returned application error leaves nothing behind.
func (s *Store) appendOne(ctx context.Context, t tx, req agentscope.AppendRequest) (agentscope.AppendResult, error) {
	var res agentscope.AppendResult
	now := s.now()
	run, err := s.findRunForUpdate(ctx, t, req.OrgID, req.SessionID)
	switch {
	case req.Start != nil && err == nil:
		return res, agentscope.Errorf(agentscope.ECONFLICT, "session %q already exists", req.SessionID)
	case req.Start != nil && agentscope.ErrorCode(err) == agentscope.ENOTFOUND:
		run = *req.Start
		run.OrgID, run.SessionID = req.OrgID, req.SessionID
		if run.CreatedAt.IsZero() {
			run.CreatedAt = now
		}
	case err != nil:
		return res, err
	case run.Status.Terminal():
		return res, agentscope.Errorf(agentscope.ECONFLICT, "session %q has ended (status %s); no more events are accepted", req.SessionID, run.Status)
	}

	// Check the events against the run and against what is stored.
	stored, err := s.findEventsByID(ctx, t, req.OrgID, req.SessionID, req.Events)
	if err != nil {
		return res, err
	}
	res.Events = make([]agentscope.Event, len(req.Events))
	res.Duplicate = make([]bool, len(req.Events))
	var fresh []int
	seen := map[string]int{}
	for i, ev := range req.Events {
		if ev.EventID == "" {
			ev.EventID = agentscope.NewEventID()
		}
		if ev.TS.IsZero() {
			ev.TS = now
		}
		if ev.Agent != "" && ev.Agent != run.Agent {
			return res, agentscope.FieldErrorf("agent", "%q does not match the run's agent %q", ev.Agent, run.Agent)
		}
		if ev.SessionID != "" && ev.SessionID != req.SessionID {
			return res, agentscope.FieldErrorf("session_id", "%q does not match the request's session %q", ev.SessionID, req.SessionID)
		}
		if old, ok := stored[ev.EventID]; ok {
			res.Events[i], res.Duplicate[i] = old, true
			continue
		}
		if j, ok := seen[ev.EventID]; ok && ev.EventID != "" {
			res.Events[i], res.Duplicate[i] = res.Events[j], true
			continue
		}
		ev.Agent, ev.SessionID = run.Agent, req.SessionID
		run.EventCount++
		ev.Seq = run.EventCount
		if ev.Type == agentscope.CostRecorded && ev.AmountUSD != nil {
			run.CostUSD += *ev.AmountUSD
		}
		res.Events[i] = ev
		seen[ev.EventID] = i
		fresh = append(fresh, i)
	}
	if u := req.Update; u != nil {
		if err := applyUpdate(&run, u, now); err != nil {
			return res, err
		}
	}

	// Writes.
	if req.Start != nil {
		if err := s.createRun(ctx, t, run); err != nil {
			return res, err
		}
	}
	if err := s.insertEvents(ctx, t, req.OrgID, res.Events, fresh); err != nil {
		return res, err
	}
	if _, err := t.exec(ctx, `UPDATE runs SET last_seq = ?, cost_nanos = ?, status = ?, output = ?, error = ?, started_at = ?, ended_at = ? WHERE org_id = ? AND session_id = ?`,
		run.EventCount, int64(run.CostUSD), string(run.Status), nullBytes(run.Output), nullString(run.Error),
		nullMicros(run.StartedAt), nullMicros(run.EndedAt), req.OrgID, req.SessionID); err != nil {
		return res, fmt.Errorf("update run: %w", err)
	}
	res.Run = run
	return res, nil
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

func (s *Store) createRun(ctx context.Context, t tx, run agentscope.Run) error {
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
	meta, err := json.Marshal(run.Metadata)
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	if len(run.Metadata) == 0 {
		meta = nil
	}
	if _, err := t.exec(ctx, `INSERT INTO runs (org_id, session_id, agent, status, managed, input, metadata, created_at, last_seq, cost_nanos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`,
		run.OrgID, run.SessionID, run.Agent, string(run.Status), run.Managed, nullBytes(run.Input), nullBytes(meta), micros(run.CreatedAt)); err != nil {
		return fmt.Errorf("insert run: %w", err)
	}
	return nil
}

const eventCols = 8

// insertEvents writes events[i] for i in idx, and their outbox entries, in
// multi-row statements.
func (s *Store) insertEvents(ctx context.Context, t tx, orgID string, events []agentscope.Event, idx []int) error {
	per := s.d.MaxParams / eventCols
	for len(idx) > 0 {
		n := min(per, len(idx))
		chunk := idx[:n]
		idx = idx[n:]
		args := make([]any, 0, n*eventCols)
		for _, i := range chunk {
			ev := &events[i]
			body, err := ev.MarshalCanonical()
			if err != nil {
				return fmt.Errorf("encode event %d: %w", ev.Seq, err)
			}
			args = append(args, orgID, ev.SessionID, ev.Seq, ev.EventID, string(ev.Type), ev.Agent, micros(ev.TS), string(body))
		}
		if _, err := t.exec(ctx, `INSERT INTO events (org_id, session_id, seq, event_id, type, agent, ts, body) VALUES `+placeholders(n, eventCols), args...); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		if !s.opts.Outbox {
			continue
		}
		now := micros(s.now())
		oargs := make([]any, 0, n*4)
		for _, i := range chunk {
			oargs = append(oargs, orgID, events[i].SessionID, events[i].Seq, now)
		}
		if _, err := t.exec(ctx, `INSERT INTO outbox (org_id, session_id, seq, next_attempt_at) VALUES `+placeholders(n, 4), oargs...); err != nil {
			return fmt.Errorf("insert outbox: %w", err)
		}
	}
	return nil
}

// findEventsByID returns the stored events of the session whose event_id is
// among events'.
func (s *Store) findEventsByID(ctx context.Context, t tx, orgID, sessionID string, events []agentscope.Event) (map[string]agentscope.Event, error) {
	ids := make([]any, 0, len(events))
	for _, ev := range events {
		if ev.EventID != "" {
			ids = append(ids, ev.EventID)
		}
	}
	found := map[string]agentscope.Event{}
	per := s.d.MaxParams - 2
	for len(ids) > 0 {
		n := min(per, len(ids))
		args := append([]any{orgID, sessionID}, ids[:n]...)
		ids = ids[n:]
		rows, err := t.query(ctx, `SELECT body FROM events WHERE org_id = ? AND session_id = ? AND event_id IN (`+strings.TrimSuffix(strings.Repeat("?,", n), ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find events by id: %w", err)
		}
		evs, err := scanBodies(rows)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			found[ev.EventID] = ev
		}
	}
	return found, nil
}

func (s *Store) findRunForUpdate(ctx context.Context, t tx, orgID, sessionID string) (agentscope.Run, error) {
	row := t.queryRow(ctx, `SELECT `+runCols+` FROM runs WHERE org_id = ? AND session_id = ?`+s.d.LockSuffix, orgID, sessionID)
	run, err := scanRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		return run, agentscope.Errorf(agentscope.ENOTFOUND, "session %q not found", sessionID)
	}
	return run, err
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
