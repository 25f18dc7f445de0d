-- An append whose runs this process has cached (package sqlstore, runCache)
-- checks them instead of reading them: it locks the runs and counts those
-- whose version (xmin) is still the one cached. This function, called with
-- that count and the number of runs, fails the transaction when they
-- differ: another process or statement changed a run since, and the store
-- does the batch again reading the runs. Its SQLSTATE, AS412, is what the
-- store recognises.
CREATE FUNCTION agentscope_expect_runs(unchanged BIGINT, cached BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
BEGIN
	IF unchanged <> cached THEN
		RAISE EXCEPTION 'agentscope: % of % cached runs changed', cached - unchanged, cached
			USING ERRCODE = 'AS412';
	END IF;
	RETURN unchanged;
END
$$;
