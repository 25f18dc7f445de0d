-- Scans by type or by agent (SPL searches pushed down to SQL) page with a
-- keyset on (ts, session_id, seq); the indexes end with those columns so
-- each page is one range read in order, not a sort of everything after the
-- previous page.
DROP INDEX events_by_type;
DROP INDEX events_by_agent;
CREATE INDEX events_by_type ON events (org_id, type, ts, session_id, seq);
CREATE INDEX events_by_agent ON events (org_id, agent, ts, session_id, seq);
