-- Billing plans shared through the database (issue 19): the plans one
-- process loaded (AGENTSCOPE_PLANS_FILE, or the built-in set with Stripe)
-- and published, so that every process opening this database counts and
-- limits events by the same plans, whatever its own configuration. One row
-- (id 1) or none (billing off). plans is the plans file's JSON, as billing
-- writes it; version goes up by one with each change of plans;
-- published_by names the process that published them, updated_at
-- (microseconds, UTC) when. stripe: the publisher bills through Stripe
-- (a hosted install: the way up from a limit is the Billing page), not an
-- operator's quotas (the way up is to ask the operator).
CREATE TABLE billing_plans (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT NOT NULL,
	plans TEXT NOT NULL,
	stripe BOOLEAN NOT NULL DEFAULT FALSE,
	published_by TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
