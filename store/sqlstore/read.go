package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	segjson "github.com/segmentio/encoding/json"

	"github.com/agentscope/agentscope"
)

const runCols = `org_id, session_id, agent, status, managed, input, output, error, metadata, created_at, started_at, ended_at, last_seq, cost_nanos, unpriced_calls`

type scanner interface{ Scan(...any) error }

func scanRun(sc scanner) (agentscope.Run, error) {
	var (
		r                      agentscope.Run
		status                 string
		input, output, errText sql.NullString
		meta                   sql.NullString
		created                int64
		started, ended         sql.NullInt64
		cost                   int64
	)
	if err := sc.Scan(&r.OrgID, &r.SessionID, &r.Agent, &status, &r.Managed, &input, &output, &errText, &meta, &created, &started, &ended, &r.EventCount, &cost, &r.UnpricedCalls); err != nil {
		return r, err
	}
	r.Status = agentscope.RunStatus(status)
	r.CostUSD = agentscope.USD(cost)
	r.CreatedAt = fromMicros(created)
	if input.Valid {
		r.Input = json.RawMessage(input.String)
	}
	if output.Valid {
		r.Output = json.RawMessage(output.String)
	}
	r.Error = errText.String
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &r.Metadata); err != nil {
			return r, fmt.Errorf("decode metadata of %s: %w", r.SessionID, err)
		}
	}
	if started.Valid {
		t := fromMicros(started.Int64)
		r.StartedAt = &t
	}
	if ended.Valid {
		t := fromMicros(ended.Int64)
		r.EndedAt = &t
	}
	return r, nil
}

// GetRun implements agentscope.Store.
func (s *Store) GetRun(ctx context.Context, orgID, sessionID string) (agentscope.Run, error) {
	run, err := scanRun(s.queryRow(ctx, `SELECT `+runCols+` FROM runs WHERE org_id = ? AND session_id = ?`, orgID, sessionID))
	if errors.Is(err, sql.ErrNoRows) {
		return run, agentscope.Errorf(agentscope.ENOTFOUND, "session %q not found", sessionID)
	} else if err != nil {
		return run, fmt.Errorf("get run %s: %w", sessionID, err)
	}
	return run, nil
}

// ListRuns implements agentscope.Store. The cursor is opaque to callers: the
// (created_at, session_id) of the last run of the previous page.
func (s *Store) ListRuns(ctx context.Context, orgID string, f agentscope.RunFilter) (agentscope.RunPage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	where := []string{"org_id = ?"}
	args := []any{orgID}
	if f.Agent != "" {
		where, args = append(where, "agent = ?"), append(args, f.Agent)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, micros(f.Since))
	}
	if f.Cursor != "" {
		at, id, err := decodeRunCursor(f.Cursor)
		if err != nil {
			return agentscope.RunPage{}, err
		}
		where = append(where, "(created_at < ? OR (created_at = ? AND session_id < ?))")
		args = append(args, at, at, id)
	}
	args = append(args, limit+1)
	rows, err := s.query(ctx, `SELECT `+runCols+` FROM runs WHERE `+strings.Join(where, " AND ")+` ORDER BY created_at DESC, session_id DESC LIMIT ?`, args...)
	if err != nil {
		return agentscope.RunPage{}, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	page := agentscope.RunPage{Runs: []agentscope.Run{}}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return page, fmt.Errorf("list runs: %w", err)
		}
		page.Runs = append(page.Runs, r)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list runs: %w", err)
	}
	if len(page.Runs) > limit {
		page.Runs = page.Runs[:limit]
		last := page.Runs[limit-1]
		page.NextCursor = encodeRunCursor(micros(last.CreatedAt), last.SessionID)
	}
	return page, nil
}

// encodeRunCursor encodes a keyset position: a time and the id that breaks
// its ties (a run's session id, an audit entry's id).
func encodeRunCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + id))
}

func decodeRunCursor(c string) (int64, string, error) { return decodeCursor(c, "list_runs") }

// decodeCursor reads what encodeRunCursor wrote; from names the listing
// that hands such cursors out.
func decodeCursor(c, from string) (int64, string, error) {
	bad := agentscope.FieldErrorf("cursor", "is not a cursor returned by %s", from)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", bad
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return 0, "", bad
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil || agentscope.ValidateSessionID(id) != nil {
		return 0, "", bad
	}
	return n, id, nil
}

// ListEvents implements agentscope.Store.
func (s *Store) ListEvents(ctx context.Context, orgID, sessionID string, f agentscope.EventFilter) ([]agentscope.Event, error) {
	// Room for the events read, made once: an Event is some 400 bytes,
	// and growing the slice by doubling cleared and copied about twice
	// what was read (a fifth of rendering a 10,000-event replay page). A
	// small page is bounded by its limit; a bigger read is counted from
	// the run, which also proves the session exists.
	const smallPage = 1024
	capacity, checked := f.Limit, false
	if f.Limit <= 0 || f.Limit > smallPage {
		run, err := s.GetRun(ctx, orgID, sessionID)
		if err != nil {
			return nil, err
		}
		capacity, checked = int(min(max(run.EventCount-f.AfterSeq, 0), 1<<16)), true
		if f.Limit > 0 {
			capacity = min(capacity, f.Limit)
		}
	}
	rows, err := s.eventRows(ctx, orgID, sessionID, f, "body")
	if err != nil {
		return nil, err
	}
	evs, err := scanBodies(rows, capacity)
	if err == nil && len(evs) == 0 && !checked {
		err = s.sessionExists(ctx, orgID, sessionID)
	}
	return evs, err
}

// sessionExists returns the store's not-found error for a session that
// does not exist. A read of a session's events checks it only when it
// found none: events are never stored without their run, so any event
// found proves the session, and a client paging a long session makes one
// round trip per page instead of two.
func (s *Store) sessionExists(ctx context.Context, orgID, sessionID string) error {
	_, err := s.GetRun(ctx, orgID, sessionID)
	return err
}

// ListEventBodies implements agentscope.Store.
func (s *Store) ListEventBodies(ctx context.Context, orgID, sessionID string, f agentscope.EventFilter) ([]agentscope.StoredEvent, error) {
	out := []agentscope.StoredEvent{}
	size := 0
	// A page bounded by bytes is read in steps on Postgres. A replay page
	// is at most 1,000 events but 64 KiB, so with events of a few hundred
	// bytes one query for the whole limit made the database read and send
	// five rows for every one kept (SQLite steps its rows in process, so a
	// break costs nothing there). The first step is sized for bodies of
	// 256 bytes; each next one for the bytes still wanted at the bodies'
	// average size so far, a quarter over. Most pages take one round trip.
	stepped := f.MaxBytes > 0 && s.d.Name == "postgres"
	for {
		step := f
		if stepped {
			n := f.MaxBytes / 256
			if len(out) > 0 { // bounded before it is scaled, so it cannot wrap
				n = min((f.MaxBytes-size)/(size/len(out)), 1024)*5/4 + 8
			}
			n = min(max(n, 16), 1024)
			if f.Limit > 0 {
				n = min(n, f.Limit-len(out))
			}
			step.Limit = n
			if len(out) > 0 {
				step.AfterSeq = out[len(out)-1].Seq
			}
		}
		got, full, err := s.readBodies(ctx, orgID, sessionID, step, &out, &size)
		if err != nil {
			return nil, err
		}
		if !stepped || full || got < step.Limit || (f.Limit > 0 && len(out) >= f.Limit) {
			break
		}
	}
	if len(out) == 0 {
		if err := s.sessionExists(ctx, orgID, sessionID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readBodies appends to out the bodies of one query's rows, counting each
// event as its body and one byte more into size; it stops at the event
// that takes size past f.MaxBytes and reports full. got is the number of
// rows read.
func (s *Store) readBodies(ctx context.Context, orgID, sessionID string, f agentscope.EventFilter, out *[]agentscope.StoredEvent, size *int) (got int, full bool, err error) {
	rows, err := s.eventRows(ctx, orgID, sessionID, f, "seq, body")
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var e agentscope.StoredEvent
		var body []byte
		if err := rows.Scan(&e.Seq, &body); err != nil {
			return got, false, fmt.Errorf("scan event: %w", err)
		}
		e.Body = body
		*out = append(*out, e)
		got++
		if *size += len(e.Body) + 1; f.MaxBytes > 0 && *size > f.MaxBytes {
			return got, true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return got, false, fmt.Errorf("read events: %w", err)
	}
	return got, false, nil
}

// eventRows selects cols of a session's events in seq order; when there
// are none, the caller checks the session exists (sessionExists).
func (s *Store) eventRows(ctx context.Context, orgID, sessionID string, f agentscope.EventFilter, cols string) (*sql.Rows, error) {
	where := "org_id = ? AND session_id = ? AND seq > ?"
	args := []any{orgID, sessionID, f.AfterSeq}
	if len(f.Types) > 0 {
		where += " AND type IN (" + strings.TrimSuffix(strings.Repeat("?,", len(f.Types)), ",") + ")"
		for _, t := range f.Types {
			args = append(args, string(t))
		}
	}
	q := `SELECT ` + cols + ` FROM events WHERE ` + where + ` ORDER BY seq`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", sessionID, err)
	}
	return rows, nil
}

// scanBodies decodes and closes rows of one body column.
func scanBodies(rows *sql.Rows, capacity int) ([]agentscope.Event, error) {
	defer rows.Close()
	evs := make([]agentscope.Event, 0, capacity)
	var body []byte
	for rows.Next() {
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		ev, err := DecodeStored(body)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return evs, nil
}

// DecodeStored decodes an event's stored canonical JSON, keeping attribute
// numbers exact.
func DecodeStored(body []byte) (agentscope.Event, error) {
	if ev, ok := decodeCanonical(body); ok {
		return ev, nil
	}
	return decodeGeneral(body)
}

// decodeGeneral decodes any stored body, however it is written.
func decodeGeneral(body []byte) (agentscope.Event, error) {
	var ev agentscope.Event
	// segmentio's decoder (already here through the MCP SDK) reads the
	// same types as encoding/json — its Number and RawMessage are the
	// standard ones — about twice as fast; stored bodies are canonical
	// JSON that AgentScope wrote, so nothing else of encoding/json's
	// behaviour matters here.
	if _, err := segjson.Parse(body, &ev, segjson.UseNumber); err != nil {
		return ev, fmt.Errorf("decode stored event: %w", err)
	}
	return ev, nil
}

// StoredEventIDs returns those of eventIDs that session sessionID of the
// organisation has stored, in no particular order: how a writer of
// AgentScope's own events (alerts) tells what it recorded before from
// what it has yet to record.
func (s *Store) StoredEventIDs(ctx context.Context, orgID, sessionID string, eventIDs []string) ([]string, error) {
	indexed := ""
	if s.d.Name == "sqlite" {
		// As loadEventIDs: without statistics SQLite prefers a scan of
		// the whole session.
		indexed = " INDEXED BY events_by_event_id"
	}
	var out []string
	for chunk := range slices.Chunk(eventIDs, s.d.MaxParams-2) {
		args := []any{orgID, sessionID}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.query(ctx, `SELECT event_id FROM events`+indexed+` WHERE org_id = ? AND session_id = ? AND event_id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find stored events of session %s: %w", sessionID, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find stored events of session %s: %w", sessionID, err)
			}
			out = append(out, id)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("find stored events of session %s: %w", sessionID, err)
		}
	}
	return out, nil
}
