package runtime

import (
	"context"
	"database/sql"
	"time"

	"github.com/agentscope/agentscope"
)

// Store is what the runtime needs of the SQL store its runs live in
// (SQLite or Postgres; store/sqlite and store/postgres implement it). River
// shares its database: the *sql.Tx of AppendTx's hook and of the ...Tx
// methods is the transaction River's job insert joins, so a run's row, its
// events and its job commit together.
type Store interface {
	// Database names the SQL database: "sqlite" or "postgres".
	Database() string
	// WriteDB is the writing pool, which River shares.
	WriteDB() *sql.DB

	// Sessions and runs.
	AppendTx(ctx context.Context, reqs []agentscope.AppendRequest, hook func(ctx context.Context, tx *sql.Tx) error) []agentscope.AppendResult
	WithSessionLock(ctx context.Context, key string, fn func() error) error
	GetRun(ctx context.Context, orgID, sessionID string) (agentscope.Run, error)

	// Managed runs: the run's River job and its reservation.
	InsertManagedRunTx(ctx context.Context, tx *sql.Tx, m agentscope.ManagedRun) error
	GetManagedRun(ctx context.Context, orgID, sessionID string) (agentscope.ManagedRun, error)
	UnfinishedManagedRuns(ctx context.Context, createdBefore time.Time, after agentscope.ManagedRun, limit int) ([]agentscope.ManagedRun, error)
	ClaimAttempt(ctx context.Context, orgID, sessionID string, jobID int64, attempt int, leaseUntil time.Time) (bool, error)
	RenewRunLease(ctx context.Context, orgID, sessionID string, attempt int, until time.Time) (bool, error)
	ExpiredRunLeases(ctx context.Context, now time.Time, limit int) ([]agentscope.ManagedRun, error)
	TakeOverRunTx(ctx context.Context, tx *sql.Tx, m agentscope.ManagedRun, now time.Time) (bool, error)
	SetRunJobTx(ctx context.Context, tx *sql.Tx, orgID, sessionID string, jobID int64) error

	// Admission and budgets.
	LockAgentTx(ctx context.Context, tx *sql.Tx, orgID, agent string) error
	AgentUsageTx(ctx context.Context, tx *sql.Tx, orgID, agent string, since time.Time, excludeSession string) (agentscope.AgentUsage, error)
	BudgetsTx(ctx context.Context, tx *sql.Tx, orgID, agent string) ([]agentscope.AgentCostBudget, error)
	AgentSpend(ctx context.Context, orgID, agent string, since time.Time) (agentscope.USD, error)
	ListBudgets(ctx context.Context, orgID, agent string) ([]agentscope.AgentCostBudget, error)

	// Agents' definitions.
	GetAgent(ctx context.Context, orgID, name string) (agentscope.Agent, error)
}
