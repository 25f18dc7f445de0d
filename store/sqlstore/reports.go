package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentscope/agentscope"
)

// Investigation reports (reports). The report is kept whole as JSON in
// body; the columns beside it are what reports are found by.

// PutReport creates or replaces the report of r.SessionID.
func (s *Store) PutReport(ctx context.Context, orgID string, r agentscope.Report) error {
	if orgID == "" || r.SessionID == "" || r.TargetSessionID == "" {
		return agentscope.Errorf(agentscope.EINVALID, "a report needs an organisation, its session and the investigated session")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("put report %s: %w", r.SessionID, err)
	}
	err = s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, `INSERT INTO reports (org_id, session_id, target_session_id, agent, status, risk_level, created_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, session_id) DO UPDATE SET target_session_id = excluded.target_session_id, agent = excluded.agent,
				status = excluded.status, risk_level = excluded.risk_level, created_at = excluded.created_at, body = excluded.body`,
			orgID, r.SessionID, r.TargetSessionID, r.Agent, string(r.Status), string(r.RiskLevel), micros(r.CreatedAt), string(body))
		return err
	})
	if err != nil {
		return fmt.Errorf("put report %s: %w", r.SessionID, err)
	}
	return nil
}

// GetReport returns the report whose investigation session is sessionID
// or, failing that, the latest report about sessionID; else ENOTFOUND.
func (s *Store) GetReport(ctx context.Context, orgID, sessionID string) (agentscope.Report, error) {
	var body string
	err := s.queryRow(ctx, `SELECT body FROM reports WHERE org_id = ? AND session_id = ?`, orgID, sessionID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.queryRow(ctx, `SELECT body FROM reports WHERE org_id = ? AND target_session_id = ? ORDER BY created_at DESC, session_id DESC LIMIT 1`, orgID, sessionID).Scan(&body)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return agentscope.Report{}, agentscope.Errorf(agentscope.ENOTFOUND, "no report by or about session %q", sessionID)
	}
	if err != nil {
		return agentscope.Report{}, fmt.Errorf("get report %s: %w", sessionID, err)
	}
	return decodeReport(body)
}

// ListReports returns the organisation's reports, newest first.
func (s *Store) ListReports(ctx context.Context, orgID string, f agentscope.ReportFilter) ([]agentscope.Report, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	q := `SELECT body FROM reports WHERE org_id = ?`
	args := []any{orgID}
	if f.RiskLevel != "" {
		q += ` AND risk_level = ?`
		args = append(args, string(f.RiskLevel))
	}
	if f.Agent != "" {
		q += ` AND agent = ?`
		args = append(args, f.Agent)
	}
	if !f.Since.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, micros(f.Since))
	}
	rows, err := s.query(ctx, q+` ORDER BY created_at DESC, session_id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	defer rows.Close()
	out := []agentscope.Report{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("list reports: %w", err)
		}
		r, err := decodeReport(body)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	return out, nil
}

func decodeReport(body string) (agentscope.Report, error) {
	var r agentscope.Report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return r, fmt.Errorf("decode report: %w", err)
	}
	return r, nil
}
