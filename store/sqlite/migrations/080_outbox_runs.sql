-- An outbox row covers a run of one session's events written by one
-- commit: seq through seq_end (NULL: seq alone, as every row written before
-- this migration, dead letters sent again and audit entries). One row per
-- run instead of one per event: a 500-event batch is one insert, one lease
-- and one delete, not 500 of each.
--
-- origin names the row a split row came from (NULL: itself). A forwarder
-- that settles part of a row (a partial HEC failure, two batches of one row
-- acknowledged apart) splits it; the events keep the row id they were
-- claimed under, and origin finds the row that holds each of them now.
ALTER TABLE outbox ADD COLUMN seq_end BIGINT;
ALTER TABLE outbox ADD COLUMN origin BIGINT;
CREATE INDEX outbox_by_origin ON outbox (origin) WHERE origin IS NOT NULL;
