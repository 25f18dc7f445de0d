-- Sessions started Uncounted (agentscope.AppendRequest): AgentScope's own
-- notes about an organisation's plan, its plan-limit alerts, whose events
-- are not counted in org_usage. Seeding the usage from the stored events
-- (SeedUsage, when billing turns on) leaves them out too.
ALTER TABLE runs ADD COLUMN uncounted BOOLEAN NOT NULL DEFAULT FALSE;
