-- A session's events in time order: SPL session timelines and the
-- investigator's evidence scan (session_id=… | table _time …) read one
-- session by ts without walking the organisation's whole ts index.
CREATE INDEX events_by_session_ts ON events (org_id, session_id, ts, seq);
