package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// The runtime's tables: managed_runs links a managed run to its River job
// and holds the cost reserved for it at admission.

// Advisory lock classes (the first key of Postgres' two-key advisory
// locks), so AgentScope's locks never collide with River's or another
// application's.
const (
	agentLockClass     = 7418201
	migrationLockClass = 7418202
)

// LockAgentTx serialises admissions of one agent until sqlTx ends: a
// transaction-scoped advisory lock on Postgres. SQLite needs none: its one
// writer holds the database lock for the whole transaction already.
func (s *Store) LockAgentTx(ctx context.Context, sqlTx *sql.Tx, orgID, agent string) error {
	if s.d.Name != "postgres" {
		return nil
	}
	t := tx{sqlTx, s.d}
	if _, err := t.exec(ctx, fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d, hashtext(?))`, agentLockClass), orgID+"/"+agent); err != nil {
		return fmt.Errorf("lock agent %s: %w", agent, err)
	}
	return nil
}

// BudgetsTx is ListBudgets for one agent inside sqlTx.
func (s *Store) BudgetsTx(ctx context.Context, sqlTx *sql.Tx, orgID, agent string) ([]agentscope.AgentCostBudget, error) {
	return listBudgetsTx(ctx, tx{sqlTx, s.d}, orgID, agent)
}

// AgentUsageTx sums agent's spend and outstanding reservations over its
// runs created at or after since, leaving out the run excludeSession (the
// one being admitted).
func (s *Store) AgentUsageTx(ctx context.Context, sqlTx *sql.Tx, orgID, agent string, since time.Time, excludeSession string) (agentscope.AgentUsage, error) {
	t := tx{sqlTx, s.d}
	var u agentscope.AgentUsage
	var spent, finishedCost, reserved int64
	// One statement, so one snapshot: a run that records its cost and ends
	// between two statements would otherwise be counted in neither.
	err := t.queryRow(ctx, `SELECT CAST(COALESCE(SUM(r.cost_nanos), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN r.status IN ('completed', 'failed', 'cancelled') THEN 1 ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN r.status IN ('completed', 'failed', 'cancelled') THEN r.cost_nanos ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN r.status IN ('queued', 'running') AND m.reserved_nanos > r.cost_nanos THEN m.reserved_nanos - r.cost_nanos ELSE 0 END), 0) AS BIGINT)
		FROM runs r LEFT JOIN managed_runs m ON m.org_id = r.org_id AND m.session_id = r.session_id
		WHERE r.org_id = ? AND r.agent = ? AND r.created_at >= ? AND r.session_id <> ?`,
		orgID, agent, micros(since), excludeSession).Scan(&spent, &u.FinishedRuns, &finishedCost, &reserved)
	if err != nil {
		return u, fmt.Errorf("agent usage %s: %w", agent, err)
	}
	u.Spent, u.FinishedCost, u.Reserved = agentscope.USD(spent), agentscope.USD(finishedCost), agentscope.USD(reserved)
	return u, nil
}

// InsertManagedRunTx records a managed run inside sqlTx (the transaction
// that creates the run and its job).
func (s *Store) InsertManagedRunTx(ctx context.Context, sqlTx *sql.Tx, m agentscope.ManagedRun) error {
	t := tx{sqlTx, s.d}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	if _, err := t.exec(ctx, `INSERT INTO managed_runs (org_id, session_id, agent, job_id, reserved_nanos, attempt, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)`,
		m.OrgID, m.SessionID, m.Agent, m.JobID, int64(m.Reserved), micros(m.CreatedAt)); err != nil {
		return fmt.Errorf("insert managed run: %w", err)
	}
	return nil
}

const managedRunCols = `org_id, session_id, agent, job_id, reserved_nanos, attempt, created_at`

func scanManagedRun(sc scanner) (agentscope.ManagedRun, error) {
	var m agentscope.ManagedRun
	var reserved, created int64
	if err := sc.Scan(&m.OrgID, &m.SessionID, &m.Agent, &m.JobID, &reserved, &m.Attempt, &created); err != nil {
		return m, err
	}
	m.Reserved, m.CreatedAt = agentscope.USD(reserved), fromMicros(created)
	return m, nil
}

// GetManagedRun returns the runtime's record of a run, or ENOTFOUND.
func (s *Store) GetManagedRun(ctx context.Context, orgID, sessionID string) (agentscope.ManagedRun, error) {
	m, err := scanManagedRun(s.queryRow(ctx, `SELECT `+managedRunCols+` FROM managed_runs WHERE org_id = ? AND session_id = ?`, orgID, sessionID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, agentscope.Errorf(agentscope.ENOTFOUND, "session %q is not a managed run", sessionID)
	} else if err != nil {
		return m, fmt.Errorf("get managed run %s: %w", sessionID, err)
	}
	return m, nil
}

// ClaimAttempt records that attempt n, made by River job jobID, is
// executing the run, with a lease until leaseUntil, unless attempt n or a
// later one already claimed it or the run has been handed to another job
// (TakeOverRunTx): it reports whether the claim succeeded. A stale attempt
// (its worker was presumed dead and the run taken over or its job
// rescued) thus cannot start executing beside a newer one.
func (s *Store) ClaimAttempt(ctx context.Context, orgID, sessionID string, jobID int64, attempt int, leaseUntil time.Time) (bool, error) {
	return s.updateOne(ctx, fmt.Sprintf("claim attempt %d of %s", attempt, sessionID),
		`UPDATE managed_runs SET attempt = ?, lease_expires_at = ? WHERE org_id = ? AND session_id = ? AND attempt < ? AND job_id = ?`,
		attempt, micros(leaseUntil), orgID, sessionID, attempt, jobID)
}

// RenewRunLease extends the lease of attempt n of the run to until, and
// reports false when attempt n no longer holds the run (a later attempt
// claimed it, or it was taken over): its worker must stop executing it.
func (s *Store) RenewRunLease(ctx context.Context, orgID, sessionID string, attempt int, until time.Time) (bool, error) {
	return s.updateOne(ctx, fmt.Sprintf("renew the lease of %s", sessionID),
		`UPDATE managed_runs SET lease_expires_at = ? WHERE org_id = ? AND session_id = ? AND attempt = ? AND lease_expires_at IS NOT NULL`,
		micros(until), orgID, sessionID, attempt)
}

// updateOne runs an UPDATE of at most one row and reports whether it
// changed one.
func (s *Store) updateOne(ctx context.Context, what, q string, args ...any) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(t tx) error {
		res, err := t.exec(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n == 1, nil
}

// ExpiredRunLeases returns up to limit managed runs, across
// organisations, that are running with a lease that lapsed before now:
// their worker stopped renewing it.
func (s *Store) ExpiredRunLeases(ctx context.Context, now time.Time, limit int) ([]agentscope.ManagedRun, error) {
	rows, err := s.query(ctx, `SELECT m.org_id, m.session_id, m.agent, m.job_id, m.reserved_nanos, m.attempt, m.created_at
		FROM runs r JOIN managed_runs m ON m.org_id = r.org_id AND m.session_id = r.session_id
		WHERE r.status = 'running' AND m.lease_expires_at < ?
		ORDER BY m.lease_expires_at LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list expired run leases: %w", err)
	}
	return scanManagedRuns(rows)
}

// TakeOverRunTx, inside sqlTx, takes over the run m (as ExpiredRunLeases
// returned it) if its lease has still lapsed before now and attempt
// m.Attempt of job m.JobID still holds it: it clears the lease and
// reports true, and the caller hands the run to a new job (SetRunJobTx)
// in the same transaction. Of nodes racing to take a run over, one wins.
func (s *Store) TakeOverRunTx(ctx context.Context, sqlTx *sql.Tx, m agentscope.ManagedRun, now time.Time) (bool, error) {
	res, err := tx{sqlTx, s.d}.exec(ctx, `UPDATE managed_runs SET lease_expires_at = NULL
		WHERE org_id = ? AND session_id = ? AND job_id = ? AND attempt = ? AND lease_expires_at < ?`,
		m.OrgID, m.SessionID, m.JobID, m.Attempt, micros(now))
	if err != nil {
		return false, fmt.Errorf("take over %s: %w", m.SessionID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("take over %s: %w", m.SessionID, err)
	}
	return n == 1, nil
}

// SetRunJobTx hands the run to River job jobID inside sqlTx.
func (s *Store) SetRunJobTx(ctx context.Context, sqlTx *sql.Tx, orgID, sessionID string, jobID int64) error {
	if _, err := (tx{sqlTx, s.d}).exec(ctx, `UPDATE managed_runs SET job_id = ? WHERE org_id = ? AND session_id = ?`, jobID, orgID, sessionID); err != nil {
		return fmt.Errorf("hand %s to job %d: %w", sessionID, jobID, err)
	}
	return nil
}

// UnfinishedManagedRuns returns up to limit managed runs that are queued or
// running and were created before createdBefore, across organisations,
// ordered by creation; after continues from the last run of the previous
// page (zero value to start).
func (s *Store) UnfinishedManagedRuns(ctx context.Context, createdBefore time.Time, after agentscope.ManagedRun, limit int) ([]agentscope.ManagedRun, error) {
	rows, err := s.query(ctx, `SELECT m.org_id, m.session_id, m.agent, m.job_id, m.reserved_nanos, m.attempt, m.created_at
		FROM managed_runs m JOIN runs r ON r.org_id = m.org_id AND r.session_id = m.session_id
		WHERE r.status IN ('queued', 'running') AND m.created_at < ?
		AND (m.created_at > ? OR (m.created_at = ? AND (m.org_id > ? OR (m.org_id = ? AND m.session_id > ?))))
		ORDER BY m.created_at, m.org_id, m.session_id LIMIT ?`,
		micros(createdBefore), micros(after.CreatedAt), micros(after.CreatedAt), after.OrgID, after.OrgID, after.SessionID, limit)
	if err != nil {
		return nil, fmt.Errorf("list unfinished managed runs: %w", err)
	}
	return scanManagedRuns(rows)
}

// scanManagedRuns reads rows of managedRunCols and closes them.
func scanManagedRuns(rows *sql.Rows) ([]agentscope.ManagedRun, error) {
	defer rows.Close()
	var out []agentscope.ManagedRun
	for rows.Next() {
		m, err := scanManagedRun(rows)
		if err != nil {
			return nil, fmt.Errorf("scan managed run: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// OrgIDs lists every organisation the store knows.
func (s *Store) OrgIDs(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, `SELECT id FROM orgs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list orgs: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list orgs: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// CreateAgent stores a as a new agent, or returns ECONFLICT if the name is
// taken: unlike PutAgent it never replaces an existing agent. The audit
// log's agent.created entry, naming the caller in ctx, is written in the
// same transaction.
func (s *Store) CreateAgent(ctx context.Context, a agentscope.Agent) (agentscope.Agent, error) {
	if err := agentscope.ValidateAgentName(a.Name); err != nil {
		return a, err
	}
	now := s.now()
	var n int64
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`, a.OrgID, a.OrgID, micros(now)); err != nil {
			return fmt.Errorf("ensure org: %w", err)
		}
		res, err := t.exec(ctx, `INSERT INTO agents (org_id, name, kind, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, name) DO NOTHING`,
			a.OrgID, a.Name, string(a.Kind), nullBytes(a.Spec), micros(now), micros(now))
		if err != nil {
			return fmt.Errorf("create agent %s: %w", a.Name, err)
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.audit(ctx, t, a.OrgID, agentscope.ActorFrom(ctx), agentscope.AuditAgentCreated, a.Name, map[string]any{"kind": a.Kind})
	})
	if err != nil {
		return a, err
	}
	if n == 0 {
		return a, agentscope.Errorf(agentscope.ECONFLICT, "agent %q already exists", a.Name)
	}
	a.CreatedAt, a.UpdatedAt = now, now
	return a, nil
}

// WithSessionLock runs fn while holding a session-level advisory lock named
// key on Postgres, so processes that start together (serve, mcp, worker)
// run one-time work such as River's migrations one at a time. On SQLite fn
// runs directly; callers retry work that races there.
func (s *Store) WithSessionLock(ctx context.Context, key string, fn func() error) error {
	if s.d.Name != "postgres" {
		return fn()
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`SELECT pg_advisory_lock(%d, hashtext($1))`, migrationLockClass), key); err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`SELECT pg_advisory_unlock(%d, hashtext($1))`, migrationLockClass), key)
	}()
	return fn()
}
