-- Billing (issue 19): each organisation's plan, and its stored events per
-- billing period. plan '' is the plans file's default plan (an organisation
-- made while billing was off); the store writes the default's id into new
-- organisations when billing is on. org_usage.events counts every event
-- stored in the period (period is "YYYY-MM", UTC), kept in the transaction
-- that stores them, and only while billing is on.
ALTER TABLE orgs ADD COLUMN plan TEXT NOT NULL DEFAULT '';

CREATE TABLE org_usage (
	org_id TEXT NOT NULL,
	period TEXT NOT NULL,
	events BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, period)
);
