-- OAuth 2.1 for MCP hosts (issue 17 item 5): AgentScope is the
-- authorization server of its /mcp. Codes and tokens are credentials
-- (asc_/asa_/asr_<handle>_<secret>): handle finds the row, secret_hash is
-- the hex SHA-256 of the secret, the only trace of it kept. Times are Unix
-- microseconds.

-- oauth_clients: hosts registered by dynamic client registration (RFC
-- 7591). Public clients: no secret, PKCE binds each code to its client.
-- redirect_uris is a JSON array.
CREATE TABLE oauth_clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	redirect_uris TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

-- oauth_grants: what a person approved on the consent page; every token
-- belongs to one, and revoking it (revoked_at) ends them all.
CREATE TABLE oauth_grants (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs (id),
	client_id TEXT NOT NULL REFERENCES oauth_clients (id),
	actor TEXT NOT NULL,
	user_id TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
	scopes TEXT NOT NULL,
	resource TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX oauth_grants_by_org ON oauth_grants (org_id, created_at, id);

-- oauth_codes: authorization codes, used once (used_at); the grant they
-- were exchanged for is kept so a replayed code revokes it (RFC 6749
-- 4.1.2). The grant's fields wait here until the exchange.
CREATE TABLE oauth_codes (
	id TEXT PRIMARY KEY,
	handle TEXT NOT NULL UNIQUE,
	secret_hash TEXT NOT NULL,
	client_id TEXT NOT NULL REFERENCES oauth_clients (id),
	org_id TEXT NOT NULL REFERENCES orgs (id),
	actor TEXT NOT NULL,
	user_id TEXT NOT NULL,
	role TEXT NOT NULL,
	scopes TEXT NOT NULL,
	resource TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	code_challenge TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER,
	grant_id TEXT
);
CREATE INDEX oauth_codes_by_expiry ON oauth_codes (expires_at);

-- oauth_tokens: access and refresh tokens of a grant. A refresh token is
-- rotated once (rotated_at); presenting it again revokes its grant.
CREATE TABLE oauth_tokens (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
	handle TEXT NOT NULL UNIQUE,
	secret_hash TEXT NOT NULL,
	grant_id TEXT NOT NULL REFERENCES oauth_grants (id),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	rotated_at INTEGER
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_by_expiry ON oauth_tokens (expires_at);
