-- The append path inserts a batch's events optimistically, with ON CONFLICT
-- DO NOTHING on (org_id, session_id, event_id), instead of first looking up
-- the stored events whose ids the batch repeats (package sqlstore,
-- appendPiped). This function, called with the number of rows inserted and
-- the number sent, fails the transaction when they differ: an event id was
-- already recorded (a retry), and the store does the batch again with the
-- lookup. Its SQLSTATE, AS409, is what the store recognises.
CREATE FUNCTION agentscope_expect_new_events(inserted BIGINT, sent BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
BEGIN
	IF inserted <> sent THEN
		RAISE EXCEPTION 'agentscope: % of % events were already recorded', sent - inserted, sent
			USING ERRCODE = 'AS409';
	END IF;
	RETURN inserted;
END
$$;
