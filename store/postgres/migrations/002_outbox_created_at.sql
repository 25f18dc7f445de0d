-- created_at is when an outbox entry was first enqueued, in micros, for the
-- forwarder's "oldest undelivered" health figure. Appends leave it NULL, to
-- keep the ingest path to one narrow insert: until an entry is first
-- claimed its next_attempt_at is still its enqueue time, and the first
-- claim copies that here before the lease moves next_attempt_at.
ALTER TABLE outbox ADD COLUMN created_at BIGINT;
