package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

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
		var existed int
		if err := t.queryRow(ctx, `SELECT count(*) FROM agents WHERE org_id = ? AND name = ?`, a.OrgID, a.Name).Scan(&existed); err != nil {
			return fmt.Errorf("put agent %s: %w", a.Name, err)
		}
		_, err := t.exec(ctx, `INSERT INTO agents (org_id, name, kind, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, name) DO UPDATE SET kind = excluded.kind, spec = excluded.spec, updated_at = excluded.updated_at`,
			a.OrgID, a.Name, string(a.Kind), nullBytes(a.Spec), now, now)
		if err != nil {
			return fmt.Errorf("put agent %s: %w", a.Name, err)
		}
		action := agentscope.AuditAgentUpdated
		if existed == 0 {
			action = agentscope.AuditAgentCreated
		}
		return s.audit(ctx, t, a.OrgID, agentscope.ActorFrom(ctx), action, a.Name, map[string]any{"kind": a.Kind})
	})
}
