-- pgbench script for scripts/bench-jobs.sh: what PostgresJobStore.submit does for ONE job, in one
-- transaction — lock the team's account row (FOR UPDATE) and read its rates, insert the job row,
-- add the reservation to the account, insert the reservation's ledger row.
-- Tables: bench/jobs-tables.sql (schema pgbench_jobs). Variables (pgbench -D): team, model,
-- reserve (the credits one job reserves; the script takes it from a real 202).
-- Run with -M prepared: every :variable travels as a bound parameter, as through PostgresClient.
BEGIN;
SELECT a.credits_allocated - a.credits_used - a.credits_reserved AS remaining,
       t.budget_mode, t.tokens_per_credit, t.credits_per_dollar
FROM pgbench_jobs.credit_accounts a JOIN pgbench_jobs.teams t ON t.team_id = a.team_id
WHERE a.team_id = :team FOR UPDATE OF a \gset
INSERT INTO pgbench_jobs.jobs (job_id, team_id, job_type, status, priority, model_group, request, metadata,
                               budget_mode, tokens_per_credit, credits_per_dollar, credits_reserved,
                               reservation_number, calls_planned, expires_at)
VALUES (gen_random_uuid(), :team, 'chat', 'queued', 0, :model, '{"messages":[{"content":"hello","role":"user"}]}', '{}',
        :budget_mode, :tokens_per_credit, :credits_per_dollar, :reserve, 1, 1, now() + interval '1 day')
RETURNING job_id, created_at \gset
\set reserved_after :remaining - :reserve
\set reservation_amount 0 - :reserve
UPDATE pgbench_jobs.credit_accounts
SET credits_reserved = credits_reserved + :reserve, credits_used = credits_used + 0, updated_at = now()
WHERE team_id = :team;
INSERT INTO pgbench_jobs.credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, job_id, reservation_number)
VALUES (gen_random_uuid(), :team, 'reservation', :reservation_amount, :reserved_after, :job_id, 1);
END;
