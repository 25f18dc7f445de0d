CREATE TABLE orgs (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE agents (
	org_id TEXT NOT NULL REFERENCES orgs (id),
	name TEXT NOT NULL,
	kind TEXT NOT NULL,
	spec TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (org_id, name)
);

CREATE TABLE runs (
	org_id TEXT NOT NULL REFERENCES orgs (id),
	session_id TEXT NOT NULL,
	agent TEXT NOT NULL,
	status TEXT NOT NULL,
	managed BOOLEAN NOT NULL DEFAULT FALSE,
	input TEXT,
	output TEXT,
	error TEXT,
	metadata TEXT,
	created_at INTEGER NOT NULL,
	started_at INTEGER,
	ended_at INTEGER,
	last_seq INTEGER NOT NULL DEFAULT 0,
	cost_nanos INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, session_id)
);
CREATE INDEX runs_by_created ON runs (org_id, created_at DESC, session_id DESC);
CREATE INDEX runs_by_agent ON runs (org_id, agent, created_at DESC);

-- The canonical event log. body is the event's canonical JSON, exactly as
-- replayed and forwarded; the other columns index it.
CREATE TABLE events (
	org_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	event_id TEXT NOT NULL,
	type TEXT NOT NULL,
	agent TEXT NOT NULL,
	ts INTEGER NOT NULL,
	body TEXT NOT NULL,
	PRIMARY KEY (org_id, session_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_by_event_id ON events (org_id, session_id, event_id);
CREATE INDEX events_by_ts ON events (org_id, ts, session_id, seq);
CREATE INDEX events_by_type ON events (org_id, type, ts);
CREATE INDEX events_by_agent ON events (org_id, agent, ts);

-- Pending Splunk deliveries, written in the same transaction as their events.
CREATE TABLE outbox (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	lease_owner TEXT,
	lease_until INTEGER,
	last_error TEXT
);
CREATE INDEX outbox_by_due ON outbox (next_attempt_at, id);

CREATE TABLE dead_letters (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	reason TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
