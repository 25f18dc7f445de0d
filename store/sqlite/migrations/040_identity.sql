-- People, their organisations and keys (issue 17). Organisations are the
-- orgs table (001): a row is made there for every organisation an event or
-- agent names, and by agentscope orgs create. Times are Unix microseconds.

-- The default organisation, which the instance token signs in to, exists
-- from the start (its row used to appear with its first event or agent),
-- so keys can be made for it before anything is recorded.
INSERT INTO orgs (id, name, created_at) VALUES ('default', 'default', CAST(strftime('%s', 'now') AS INTEGER) * 1000000) ON CONFLICT (id) DO NOTHING;

-- users: one per address (email as agentscope.NormalizeEmail gives it).
CREATE TABLE users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

-- memberships: a user's role in an organisation. Every organisation with
-- members keeps at least one owner (the store refuses the change that would
-- leave none).
CREATE TABLE memberships (
	org_id TEXT NOT NULL REFERENCES orgs (id),
	user_id TEXT NOT NULL REFERENCES users (id),
	role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

-- api_keys: an organisation's keys. prefix (ask_<handle>) finds a key when
-- it signs in; secret_hash is the hex SHA-256 of its secret, the only trace
-- of the secret kept. scopes is a comma-separated list.
CREATE TABLE api_keys (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs (id),
	name TEXT NOT NULL,
	prefix TEXT NOT NULL UNIQUE,
	secret_hash TEXT NOT NULL,
	scopes TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	last_used_at INTEGER,
	revoked_at INTEGER
);
CREATE INDEX api_keys_by_org ON api_keys (org_id, created_at, id);

-- email_tokens: single-use links mailed to one address, sign-in links and
-- invitations (org_id and role set). handle finds the row; secret_hash is
-- as for keys. used_at is set once, by the one consumer that wins. Rows
-- past their expiry are deleted when the next token is made.
CREATE TABLE email_tokens (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('sign_in', 'invitation')),
	org_id TEXT REFERENCES orgs (id),
	role TEXT NOT NULL,
	email TEXT NOT NULL,
	handle TEXT NOT NULL UNIQUE,
	secret_hash TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER
);
CREATE INDEX email_tokens_by_org ON email_tokens (org_id, created_at);
CREATE INDEX email_tokens_by_expiry ON email_tokens (expires_at);

-- audit_log: each organisation's record of sign-ins and of changes to its
-- people, keys, agents, budgets and alert rules. detail is a JSON object.
CREATE TABLE audit_log (
	org_id TEXT NOT NULL,
	id TEXT NOT NULL,
	at INTEGER NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	detail TEXT NOT NULL,
	PRIMARY KEY (org_id, id)
);
CREATE INDEX audit_log_by_time ON audit_log (org_id, at, id);
