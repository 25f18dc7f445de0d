package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/agentscope/agentscope"
)

const agentCols = `org_id, name, kind, spec, created_at, updated_at`

func scanAgent(sc scanner) (agentscope.Agent, error) {
	var (
		a                agentscope.Agent
		kind             string
		spec             sql.NullString
		created, updated int64
	)
	if err := sc.Scan(&a.OrgID, &a.Name, &kind, &spec, &created, &updated); err != nil {
		return a, err
	}
	a.Kind = agentscope.AgentKind(kind)
	if spec.Valid {
		a.Spec = json.RawMessage(spec.String)
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// GetAgent implements agentscope.Store.
func (s *Store) GetAgent(ctx context.Context, orgID, name string) (agentscope.Agent, error) {
	a, err := scanAgent(s.queryRow(ctx, `SELECT `+agentCols+` FROM agents WHERE org_id = ? AND name = ?`, orgID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return a, agentscope.Errorf(agentscope.ENOTFOUND, "agent %q not found", name)
	} else if err != nil {
		return a, fmt.Errorf("get agent %s: %w", name, err)
	}
	return a, nil
}

// ListAgents implements agentscope.Store.
func (s *Store) ListAgents(ctx context.Context, orgID string) ([]agentscope.Agent, error) {
	rows, err := s.query(ctx, `SELECT `+agentCols+` FROM agents WHERE org_id = ? ORDER BY name`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	defer rows.Close()
	out := []agentscope.Agent{}
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("list agents: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PutAgent implements agentscope.Store. The audit log's agent.created or
// agent.updated entry, naming the caller in ctx, is written in the same
// transaction.
func (s *Store) PutAgent(ctx context.Context, a agentscope.Agent) error {
	if err := agentscope.ValidateAgentName(a.Name); err != nil {
		return err
	}
	now := micros(s.now())
	return s.inTx(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`, a.OrgID, a.OrgID, now); err != nil {
			return fmt.Errorf("ensure org: %w", err)
		}
		old, err := scanAgent(t.queryRow(ctx, `SELECT `+agentCols+` FROM agents WHERE org_id = ? AND name = ?`, a.OrgID, a.Name))
		existed := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("put agent %s: %w", a.Name, err)
		}
		_, err = t.exec(ctx, `INSERT INTO agents (org_id, name, kind, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, name) DO UPDATE SET kind = excluded.kind, spec = excluded.spec, updated_at = excluded.updated_at`,
			a.OrgID, a.Name, string(a.Kind), nullBytes(a.Spec), now, now)
		if err != nil {
			return fmt.Errorf("put agent %s: %w", a.Name, err)
		}
		if !existed {
			return s.audit(ctx, t, a.OrgID, agentscope.ActorFrom(ctx), agentscope.AuditAgentCreated, a.Name, map[string]any{"kind": a.Kind})
		}
		detail := map[string]any{"kind": a.Kind, "changed": changedFields(old.Spec, a.Spec)}
		if old.Kind != a.Kind {
			detail["from_kind"] = old.Kind
		}
		return s.audit(ctx, t, a.OrgID, agentscope.ActorFrom(ctx), agentscope.AuditAgentUpdated, a.Name, detail)
	})
}

// changedFields names the top-level fields of two agent definitions (JSON
// objects, either may be empty) whose values differ, sorted: what an
// agent.updated audit entry says changed, without the values, which may
// be long or private.
func changedFields(before, after json.RawMessage) []string {
	var b, a map[string]json.RawMessage
	_ = json.Unmarshal(before, &b)
	_ = json.Unmarshal(after, &a)
	changed := []string{}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(canonicalJSON(v), canonicalJSON(w)) {
			changed = append(changed, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return changed
}

// canonicalJSON re-encodes v so that equal values compare equal whatever
// their spacing or key order.
func canonicalJSON(v json.RawMessage) []byte {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return v
	}
	out, _ := json.Marshal(x)
	return out
}
