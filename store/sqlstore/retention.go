package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// Retention: deleting an organisation's whole sessions once they are
// older than its plan keeps them. A session is deleted whole (its run, its
// events, their pending and dead-lettered Splunk deliveries, the report
// it holds) or not at all.

// ListOrgPlans returns every organisation's stored plan. It crosses
// organisations: for AgentScope's own jobs (retention), never for a
// caller acting in one organisation.
func (s *Store) ListOrgPlans(ctx context.Context) ([]agentscope.OrgPlan, error) {
	return queryAll(ctx, s, "list organisations' plans", func(sc scanner) (agentscope.OrgPlan, error) {
		var r agentscope.OrgPlan
		return r, sc.Scan(&r.OrgID, &r.Plan)
	}, `SELECT id, plan FROM orgs ORDER BY id`)
}

// PruneSessions deletes up to limit of the organisation's sessions that
// are expired at before, whole, in one transaction, and records
// billing.retention_pruned (what was deleted) in its audit log as actor.
// A session is expired when it was created before before and nothing of
// it is newer: it ended before before, or it never ended and its newest
// event is older. A managed run that has not ended is never expired (its
// job still owns it). A session that gains an event while it is being
// pruned is left whole (its run's last_seq is checked as it is deleted).
func (s *Store) PruneSessions(ctx context.Context, orgID string, before time.Time, limit int, actor string) (agentscope.PrunedSessions, error) {
	var out agentscope.PrunedSessions
	cut := micros(before)
	err := s.inTx(ctx, func(t tx) error {
		rows, err := t.query(ctx, `SELECT r.session_id, r.last_seq FROM runs r
			WHERE r.org_id = ? AND r.created_at < ?
			AND (r.ended_at < ? OR (r.ended_at IS NULL AND NOT r.managed
				AND NOT EXISTS (SELECT 1 FROM events e WHERE e.org_id = r.org_id AND e.session_id = r.session_id AND e.ts >= ?)))
			ORDER BY r.session_id LIMIT ?`, orgID, cut, cut, cut, limit)
		if err != nil {
			return err
		}
		type candidate struct {
			session string
			lastSeq int64
		}
		var found []candidate
		for rows.Next() {
			var c candidate
			if err := rows.Scan(&c.session, &c.lastSeq); err != nil {
				rows.Close()
				return err
			}
			found = append(found, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// In session order, the order appends lock runs in, so the two
		// cannot deadlock.
		for _, c := range found {
			// Deleting the run first locks it: an append that got there
			// first changed last_seq, and the session is kept.
			res, err := t.exec(ctx, `DELETE FROM runs WHERE org_id = ? AND session_id = ? AND last_seq = ?`, orgID, c.session, c.lastSeq)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			for _, table := range []string{"outbox", "dead_letters", "managed_runs", "reports"} { // names from this list, never from input
				if _, err := t.exec(ctx, `DELETE FROM `+table+` WHERE org_id = ? AND session_id = ?`, orgID, c.session); err != nil {
					return fmt.Errorf("%s: %w", table, err)
				}
			}
			res, err = t.exec(ctx, `DELETE FROM events WHERE org_id = ? AND session_id = ?`, orgID, c.session)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			out.Events += n
			out.Sessions = append(out.Sessions, c.session)
		}
		if len(out.Sessions) == 0 {
			return nil
		}
		return s.audit(ctx, t, orgID, actor, agentscope.AuditRetentionPruned, orgID, map[string]any{
			"sessions": len(out.Sessions), "events": out.Events, "before": before.UTC().Format(time.RFC3339), "session_ids": out.Sessions,
		})
	})
	if err != nil {
		return agentscope.PrunedSessions{}, fmt.Errorf("prune sessions of %s: %w", orgID, err)
	}
	return out, nil
}
