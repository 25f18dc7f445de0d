-- Model calls of a session whose cost is unknown (agentscope.Run's
-- UnpricedCalls): the lists show such a session's cost as unknown rather
-- than as the sum of the costs that are known. Sessions recorded before
-- this migration count none.
ALTER TABLE runs ADD COLUMN unpriced_calls BIGINT NOT NULL DEFAULT 0;
