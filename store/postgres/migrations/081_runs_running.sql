-- The runs still running, for the sweep that ends capture sessions gone
-- idle (service.EndIdleSessions): it reads only these.
CREATE INDEX runs_running ON runs (org_id, session_id) WHERE status = 'running';
