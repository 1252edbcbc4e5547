-- pgbench script for scripts/bench-jobs.sh: what PostgresJobStore.settle does for ONE completed
-- job, in one transaction — mark the job completed (its result, usage, charge), lock the team's
-- account row and read the balance, release the reservation and make the charge on the account,
-- insert the two ledger rows (release, charge).
-- Never run alone: the script appends it to bench/jobs-submit.sql, whose \gset leaves :job_id and
-- whose -D variables (team, …) it uses; one pass of the pair = one job submitted and settled
-- (two transactions), so pgbench's tps is jobs/s end to end.
BEGIN;
UPDATE pgbench_jobs.jobs
SET status = 'completed', result = '{"content":"mock answer","finish_reason":"stop"}', prompt_tokens = 9,
    completion_tokens = 12, cost_usd = 0.0000225, credits_charged = LEAST(1, credits_reserved),
    attempts = attempts + 1, calls_done = calls_done + 1, started_at = COALESCE(started_at, now()),
    retry_at = NULL, completed_at = now(), lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE job_id = :job_id AND status IN ('queued', 'in_progress')
RETURNING credits_reserved AS settle_reserved, credits_charged AS settle_charged \gset
SELECT credits_allocated - credits_used - credits_reserved AS settle_remaining
FROM pgbench_jobs.credit_accounts WHERE team_id = :team FOR UPDATE \gset
\set after_release :settle_remaining + :settle_reserved
\set after_charge :after_release - :settle_charged
\set charge_amount 0 - :settle_charged
UPDATE pgbench_jobs.credit_accounts
SET credits_reserved = credits_reserved - :settle_reserved, credits_used = credits_used + :settle_charged, updated_at = now()
WHERE team_id = :team;
INSERT INTO pgbench_jobs.credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, job_id, reservation_number)
VALUES (gen_random_uuid(), :team, 'release', :settle_reserved, :after_release, :job_id, 1),
       (gen_random_uuid(), :team, 'charge', :charge_amount, :after_charge, :job_id, 1);
END;
