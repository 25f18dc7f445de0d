package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentscope/agentscope"
)

// The audit log (audit_log): each organisation's record of sign-ins and of
// changes to its people, keys and configuration. The changes this package
// makes to people and keys write their entry in the same transaction. With
// the outbox on, each entry is also queued for Splunk in that transaction.

// audit appends an entry to orgID's log inside t. detail is encoded as a
// JSON object and must never hold a secret.
func (s *Store) audit(ctx context.Context, t tx, orgID, actor string, action agentscope.AuditAction, target string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return s.insertAudit(ctx, t, agentscope.AuditEntry{OrgID: orgID, Actor: actor, Action: action, Target: target, Detail: b})
}

func (s *Store) insertAudit(ctx context.Context, t tx, e agentscope.AuditEntry) error {
	if e.ID == "" {
		e.ID = agentscope.NewAuditID()
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	if _, err := t.exec(ctx, `INSERT INTO audit_log (org_id, id, at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.OrgID, e.ID, micros(e.At), e.Actor, string(e.Action), e.Target, string(e.Detail)); err != nil {
		return err
	}
	if !s.opts.Outbox {
		return nil
	}
	// Forwarded to Splunk like an event, from the same transaction: the
	// entry and its delivery commit together or not at all.
	_, err := t.exec(ctx, `INSERT INTO outbox (org_id, session_id, seq, audit_id, next_attempt_at) VALUES (?, '', 0, ?, ?)`,
		e.OrgID, e.ID, micros(e.At))
	return err
}

// AppendAudit records e (OrgID, Actor, Action, Target and an optional
// Detail object) in its organisation's log, with a fresh id and the
// current time, for changes made outside this package's people and key
// methods (a sign-in, an agent, budget or alert rule changed).
func (s *Store) AppendAudit(ctx context.Context, e agentscope.AuditEntry) (agentscope.AuditEntry, error) {
	if err := agentscope.ValidateOrgID(e.OrgID); err != nil {
		return e, err
	}
	if e.Actor == "" || e.Action == "" {
		return e, agentscope.Errorf(agentscope.EINVALID, "an audit entry needs an actor and an action")
	}
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage(`{}`)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.Detail, &obj); err != nil || obj == nil {
		return e, agentscope.FieldErrorf("detail", "must be a JSON object")
	}
	e.ID, e.At = agentscope.NewAuditID(), s.now()
	if err := s.inTx(ctx, func(t tx) error { return s.insertAudit(ctx, t, e) }); err != nil {
		return e, fmt.Errorf("append audit entry: %w", err)
	}
	return e, nil
}

// ListAudit returns a page of the organisation's audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, orgID string, f agentscope.AuditFilter) (agentscope.AuditPage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	where, args := []string{"org_id = ?"}, []any{orgID}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor, "the audit log")
		if err != nil {
			return agentscope.AuditPage{}, err
		}
		where = append(where, "(at < ? OR (at = ? AND id < ?))")
		args = append(args, at, at, id)
	}
	args = append(args, limit+1)
	entries, err := queryAll(ctx, s, "list audit log", scanAuditEntry,
		`SELECT org_id, id, at, actor, action, target, detail FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return agentscope.AuditPage{}, err
	}
	page := agentscope.AuditPage{Entries: entries}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		last := page.Entries[limit-1]
		page.NextCursor = encodeRunCursor(micros(last.At), last.ID)
	}
	return page, nil
}

func scanAuditEntry(sc scanner) (agentscope.AuditEntry, error) {
	var (
		e              agentscope.AuditEntry
		at             int64
		action, detail string
	)
	err := sc.Scan(&e.OrgID, &e.ID, &at, &e.Actor, &action, &e.Target, &detail)
	e.At, e.Action, e.Detail = fromMicros(at), agentscope.AuditAction(action), json.RawMessage(detail)
	return e, err
}
