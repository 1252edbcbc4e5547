-- The one-round-trip submit (PostgresJobStore+OneTripSubmit.swift) sends its jobs, the accounts'
-- lock, their reservations and ledger rows, and COMMIT together, having priced the jobs at the
-- rates it last saw. When an account no longer covers its jobs, or its team's rates changed, this
-- aborts the transaction with its own SQLSTATE, and the batch is submitted the locking way, which
-- decides job by job.
CREATE FUNCTION submit_reservations_fit(fit boolean) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT fit THEN
        RAISE EXCEPTION 'the batch''s reservations no longer fit its accounts or rates' USING ERRCODE = 'SB001';
    END IF;
    RETURN true;
END
$$;
