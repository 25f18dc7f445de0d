package agentscope

import "time"

// ManagedRun is the runtime's record of one managed run, as the store keeps
// it beside the run's River job.
type ManagedRun struct {
	OrgID     string
	SessionID string
	Agent     string
	// JobID is the River job that executes the run.
	JobID int64
	// Reserved is the cost set aside at admission; until the run ends, the
	// part of it not yet spent counts against the agent's hard caps.
	Reserved USD
	// Attempt is the latest River attempt that claimed the run.
	Attempt   int
	CreatedAt time.Time
}

// AgentUsage is what admission weighs against one budget period.
type AgentUsage struct {
	// Spent is the summed cost of the agent's runs created in the period.
	Spent USD
	// Reserved is what the agent's unfinished managed runs of the period
	// have reserved and not yet spent.
	Reserved USD
	// FinishedRuns and FinishedCost describe the agent's ended runs of the
	// period, for estimating a run's cost.
	FinishedRuns int64
	FinishedCost USD
}
