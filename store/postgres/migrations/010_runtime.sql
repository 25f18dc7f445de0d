-- The runtime that executes managed agents (package runtime).

-- Cost budgets: at most one per agent and period.
CREATE TABLE agent_budgets (
	org_id TEXT NOT NULL,
	agent TEXT NOT NULL,
	period TEXT NOT NULL,
	limit_nanos BIGINT NOT NULL,
	hard_cap BOOLEAN NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, agent, period)
);

-- One row per managed run: its River job and the cost reserved for it at
-- admission (counted against hard caps until the run ends). attempt fences
-- River attempts: a worker claims attempt n only if no later one began.
CREATE TABLE managed_runs (
	org_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	agent TEXT NOT NULL,
	job_id BIGINT NOT NULL,
	reserved_nanos BIGINT NOT NULL DEFAULT 0,
	attempt BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, session_id)
);

-- Unfinished runs, for admission (reservations of an agent's runs) and the
-- sweeper (runs whose job ended without finishing them).
CREATE INDEX runs_unfinished ON runs (org_id, agent, created_at) WHERE status IN ('queued', 'running');
