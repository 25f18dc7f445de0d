-- Signed-out web UI sessions (package web). A session cookie is signed and
-- carries its own expiry, so nothing is stored for a session that is
-- signed in; one that signed out is listed here until it would have
-- expired, so signing out holds across restarts and on every process.
CREATE TABLE ui_revoked_sessions (
	id TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX ui_revoked_sessions_expiry ON ui_revoked_sessions (expires_at);
