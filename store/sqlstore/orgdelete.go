package sqlstore

import (
	"context"
	"fmt"

	"github.com/agentscope/agentscope"
)

// OrgTables are the tables that hold an organisation's rows in an org_id
// column, in the order DeleteOrg empties them (rows that reference others
// first). TestOrgTablesCoverSchema holds it to the schema: a table with
// an org_id column that is not listed fails it.
var OrgTables = []string{
	"oauth_codes", "oauth_grants", "email_tokens", "api_keys", "memberships",
	"outbox", "dead_letters", "managed_runs", "reports", "alert_rules",
	"agent_budgets", "agents", "events", "runs", "audit_log", "org_usage",
	"stripe_invoices", "stripe_events", "stripe_accounts",
}

// DeleteOrg deletes the organisation orgID and everything it holds, in one
// transaction, and returns how many rows each table lost. Its OAuth tokens
// go with their grants; its people stay (they may belong to other
// organisations). What was already forwarded to Splunk stays there, and a
// managed run of it still queued ends as not found when a worker claims
// it. An organisation that does not exist is ENOTFOUND.
func (s *Store) DeleteOrg(ctx context.Context, orgID string) (map[string]int64, error) {
	deleted := map[string]int64{}
	err := s.inTx(ctx, func(t tx) error {
		if err := s.lockOrg(ctx, t, orgID); err != nil {
			return err
		}
		res, err := t.exec(ctx, `DELETE FROM oauth_tokens WHERE grant_id IN (SELECT id FROM oauth_grants WHERE org_id = ?)`, orgID)
		if err != nil {
			return err
		}
		deleted["oauth_tokens"], _ = res.RowsAffected()
		for _, table := range OrgTables { // names from the list above, never from input
			res, err := t.exec(ctx, `DELETE FROM `+table+` WHERE org_id = ?`, orgID)
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			deleted[table], _ = res.RowsAffected()
		}
		res, err = t.exec(ctx, `DELETE FROM orgs WHERE id = ?`, orgID)
		if err != nil {
			return err
		}
		deleted["orgs"], _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
			return nil, err
		}
		return nil, fmt.Errorf("delete organisation %s: %w", orgID, err)
	}
	return deleted, nil
}

// OrgColumnTables lists the tables of the schema that have an org_id
// column, from the database's own catalog, for the test that OrgTables
// covers them.
func (s *Store) OrgColumnTables(ctx context.Context) ([]string, error) {
	q := `SELECT table_name FROM information_schema.columns WHERE column_name = 'org_id' AND table_schema = current_schema() ORDER BY table_name`
	if s.d.Name == "sqlite" {
		q = `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name = 'org_id' ORDER BY m.name`
	}
	return queryAll(ctx, s, "list organisation tables", func(sc scanner) (string, error) {
		var name string
		return name, sc.Scan(&name)
	}, q)
}
