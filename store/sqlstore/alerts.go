package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/agentscope/agentscope"
)

// Alert rules (alert_rules). Reads leave the secret out, except
// AlertRuleForDelivery, which the delivery worker alone calls; CreateAlertRule
// returns it once.

const alertRuleCols = `org_id, id, name, enabled, kinds, min_severity, budget_percent, agents, url, format, created_at, updated_at`

func scanAlertRule(sc scanner, extra ...any) (agentscope.AlertRule, error) {
	var (
		r                agentscope.AlertRule
		kinds, agents    string
		minSev, format   string
		created, updated int64
	)
	dest := append([]any{&r.OrgID, &r.ID, &r.Name, &r.Enabled, &kinds, &minSev, &r.BudgetPercent, &agents, &r.URL, &format, &created, &updated}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(kinds), &r.Kinds); err != nil {
		return r, fmt.Errorf("alert rule %s: kinds: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(agents), &r.Agents); err != nil {
		return r, fmt.Errorf("alert rule %s: agents: %w", r.ID, err)
	}
	if len(r.Agents) == 0 {
		r.Agents = nil
	}
	r.MinSeverity, r.Format = agentscope.RiskLevel(minSev), agentscope.AlertFormat(format)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, nil
}

// alertRuleJSON encodes the rule's lists for their TEXT columns.
func alertRuleJSON(r agentscope.AlertRule) (kinds, agents string) {
	k, _ := json.Marshal(r.Kinds) // []string always encodes
	a, _ := json.Marshal(append([]string{}, r.Agents...))
	return string(k), string(a)
}

func alertRuleNotFound(id string) error {
	return agentscope.Errorf(agentscope.ENOTFOUND, "alert rule %q not found", id)
}

// CreateAlertRule validates r and stores it as a new rule of r.OrgID with a
// fresh id, generating its secret when r.Secret is empty. The returned rule
// holds the secret: the only time it is shown.
func (s *Store) CreateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error) {
	if err := r.Validate(); err != nil {
		return agentscope.AlertRule{}, err
	}
	r.ID = agentscope.NewAlertRuleID()
	if r.Secret == "" {
		r.Secret = agentscope.NewAlertRuleSecret()
	}
	r.CreatedAt = s.now()
	r.UpdatedAt = r.CreatedAt
	kinds, agents := alertRuleJSON(r)
	stored, err := s.sealSecret(r.OrgID, r.ID, r.Secret)
	if err != nil {
		return agentscope.AlertRule{}, fmt.Errorf("create alert rule: %w", err)
	}
	err = s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, `INSERT INTO alert_rules (org_id, id, name, enabled, kinds, min_severity, budget_percent, agents, url, format, secret, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.OrgID, r.ID, r.Name, r.Enabled, kinds, string(r.MinSeverity), r.BudgetPercent, agents, r.URL, string(r.Format), stored,
			micros(r.CreatedAt), micros(r.UpdatedAt))
		if err != nil {
			return err
		}
		return s.audit(ctx, t, r.OrgID, agentscope.ActorFrom(ctx), agentscope.AuditAlertRuleCreated, r.ID, alertRuleAudit(r, false))
	})
	if err != nil {
		return agentscope.AlertRule{}, fmt.Errorf("create alert rule: %w", err)
	}
	return r, nil
}

// GetAlertRule returns the organisation's rule id, without its secret.
func (s *Store) GetAlertRule(ctx context.Context, orgID, id string) (agentscope.AlertRule, error) {
	r, err := scanAlertRule(s.queryRow(ctx, `SELECT `+alertRuleCols+` FROM alert_rules WHERE org_id = ? AND id = ?`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return agentscope.AlertRule{}, alertRuleNotFound(id)
	} else if err != nil {
		return agentscope.AlertRule{}, fmt.Errorf("get alert rule %s: %w", id, err)
	}
	return r, nil
}

// AlertRuleForDelivery returns the organisation's rule id with its secret,
// for the delivery worker. It implements the alerts delivery worker's RuleSource.
func (s *Store) AlertRuleForDelivery(ctx context.Context, orgID, id string) (agentscope.AlertRule, error) {
	var secret string
	r, err := scanAlertRule(s.queryRow(ctx, `SELECT `+alertRuleCols+`, secret FROM alert_rules WHERE org_id = ? AND id = ?`, orgID, id), &secret)
	if errors.Is(err, sql.ErrNoRows) {
		return agentscope.AlertRule{}, alertRuleNotFound(id)
	} else if err != nil {
		return agentscope.AlertRule{}, fmt.Errorf("get alert rule %s: %w", id, err)
	}
	if r.Secret, err = s.openSecret(orgID, id, secret); err != nil {
		return agentscope.AlertRule{}, err
	}
	return r, nil
}

// ListAlertRules returns the organisation's rules, oldest first, without
// their secrets.
func (s *Store) ListAlertRules(ctx context.Context, orgID string) ([]agentscope.AlertRule, error) {
	rows, err := s.query(ctx, `SELECT `+alertRuleCols+` FROM alert_rules WHERE org_id = ? ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list alert rules: %w", err)
	}
	defer rows.Close()
	out := []agentscope.AlertRule{}
	for rows.Next() {
		r, err := scanAlertRule(rows)
		if err != nil {
			return nil, fmt.Errorf("list alert rules: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list alert rules: %w", err)
	}
	return out, nil
}

// UpdateAlertRule validates r and replaces the rule r.ID of r.OrgID with it:
// name, enabled, conditions and destination. The secret is kept unless
// r.Secret is set, which replaces it. The returned rule has no secret.
func (s *Store) UpdateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error) {
	if err := r.Validate(); err != nil {
		return agentscope.AlertRule{}, err
	}
	kinds, agents := alertRuleJSON(r)
	now := s.now()
	var out agentscope.AlertRule
	err := s.inTx(ctx, func(t tx) error {
		q := `UPDATE alert_rules SET name = ?, enabled = ?, kinds = ?, min_severity = ?, budget_percent = ?, agents = ?, url = ?, format = ?, updated_at = ?`
		args := []any{r.Name, r.Enabled, kinds, string(r.MinSeverity), r.BudgetPercent, agents, r.URL, string(r.Format), micros(now)}
		if r.Secret != "" {
			stored, err := s.sealSecret(r.OrgID, r.ID, r.Secret)
			if err != nil {
				return err
			}
			q += `, secret = ?`
			args = append(args, stored)
		}
		res, err := t.exec(ctx, q+` WHERE org_id = ? AND id = ?`, append(args, r.OrgID, r.ID)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return alertRuleNotFound(r.ID)
		}
		if out, err = scanAlertRule(t.queryRow(ctx, `SELECT `+alertRuleCols+` FROM alert_rules WHERE org_id = ? AND id = ?`, r.OrgID, r.ID)); err != nil {
			return err
		}
		return s.audit(ctx, t, r.OrgID, agentscope.ActorFrom(ctx), agentscope.AuditAlertRuleUpdated, r.ID, alertRuleAudit(out, r.Secret != ""))
	})
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return agentscope.AlertRule{}, err
	} else if err != nil {
		return agentscope.AlertRule{}, fmt.Errorf("update alert rule %s: %w", r.ID, err)
	}
	return out, nil
}

// DeleteAlertRule removes the organisation's rule id, or returns ENOTFOUND.
// Creating, updating and deleting a rule each write the audit log's entry,
// naming the caller in ctx, in the same transaction.
// Its pending deliveries are cancelled when they next run.
func (s *Store) DeleteAlertRule(ctx context.Context, orgID, id string) error {
	err := s.inTx(ctx, func(t tx) error {
		var name string
		err := t.queryRow(ctx, `DELETE FROM alert_rules WHERE org_id = ? AND id = ? RETURNING name`, orgID, id).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return alertRuleNotFound(id)
		} else if err != nil {
			return err
		}
		return s.audit(ctx, t, orgID, agentscope.ActorFrom(ctx), agentscope.AuditAlertRuleDeleted, id, map[string]any{"name": name})
	})
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return err
	} else if err != nil {
		return fmt.Errorf("delete alert rule %s: %w", id, err)
	}
	return nil
}

// alertRuleAudit is what an alert rule's audit entry says of it: never its
// webhook URL (a Slack webhook's URL is its credential) nor its secret,
// only whether the secret was replaced.
func alertRuleAudit(r agentscope.AlertRule, secretReplaced bool) map[string]any {
	d := map[string]any{"name": r.Name, "enabled": r.Enabled, "kinds": r.Kinds, "format": r.Format}
	if secretReplaced {
		d["secret_replaced"] = true
	}
	return d
}

// OrgsWithPlanLimitRules returns the organisations (their ID, and Name
// when the organisation is stored) that have an enabled alert rule able to match a plan-limit signal:
// one listing plan_limit or "*" for every agent (plan-limit signals belong
// to no agent). The plan-limit job computes the usage of these alone.
func (s *Store) OrgsWithPlanLimitRules(ctx context.Context) ([]agentscope.Org, error) {
	// kinds is a JSON array of known kinds: a kind is matched with its
	// quotes, and LIKE's wildcard _ escaped.
	rows, err := s.query(ctx, `SELECT DISTINCT r.org_id, COALESCE(o.name, '') FROM alert_rules r LEFT JOIN orgs o ON o.id = r.org_id
		WHERE r.enabled = ? AND r.agents = '[]' AND (r.kinds LIKE ? ESCAPE '\' OR r.kinds LIKE ? ESCAPE '\')
		ORDER BY r.org_id`, true, `%"`+strings.ReplaceAll(agentscope.AlertKindPlanLimit, "_", `\_`)+`"%`, `%"`+agentscope.AlertKindAny+`"%`)
	if err != nil {
		return nil, fmt.Errorf("list organisations with plan-limit alert rules: %w", err)
	}
	defer rows.Close()
	var out []agentscope.Org
	for rows.Next() {
		var o agentscope.Org
		if err := rows.Scan(&o.ID, &o.Name); err != nil {
			return nil, fmt.Errorf("list organisations with plan-limit alert rules: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list organisations with plan-limit alert rules: %w", err)
	}
	return out, nil
}
