-- Alert rules (package alerts): which signals an organisation is notified
-- of, and the webhook that hears of them. kinds and agents are JSON arrays
-- of strings (agents empty: every agent). secret signs deliveries; it is
-- stored as is because signing needs it, and only the delivery worker
-- reads it back.
CREATE TABLE alert_rules (
	org_id TEXT NOT NULL,
	id TEXT NOT NULL,
	name TEXT NOT NULL,
	enabled BOOLEAN NOT NULL,
	kinds TEXT NOT NULL,
	min_severity TEXT NOT NULL,
	budget_percent INTEGER NOT NULL,
	agents TEXT NOT NULL,
	url TEXT NOT NULL,
	format TEXT NOT NULL,
	secret TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, id)
);
