-- Investigation reports (runtime's investigator): one per investigation
-- session, found by it or by the investigated session.
CREATE TABLE reports (
	org_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	target_session_id TEXT NOT NULL,
	agent TEXT NOT NULL,
	status TEXT NOT NULL,
	risk_level TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	body TEXT NOT NULL,
	PRIMARY KEY (org_id, session_id)
);
CREATE INDEX reports_by_target ON reports (org_id, target_session_id, created_at);
CREATE INDEX reports_by_created ON reports (org_id, created_at);
