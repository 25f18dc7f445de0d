-- Audit entries travel to Splunk through the same outbox as events. An
-- entry for an audit log row names it by audit_id (with session_id '' and
-- seq 0, which no event has); an event's entry leaves it NULL. A dead
-- letter keeps audit_id so that retrying it enqueues the audit entry again.
ALTER TABLE outbox ADD COLUMN audit_id TEXT;
ALTER TABLE dead_letters ADD COLUMN audit_id TEXT;
