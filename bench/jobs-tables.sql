-- Tables for the pgbench references of scripts/bench-jobs.sh (made with psql in the saas_bench
-- database after the service migrated it; never by the service's migrations).
--
-- Schema pgbench_jobs holds copies of the tables a submit and a settlement write — same columns,
-- defaults, CHECK constraints, indexes and the foreign keys on the write path — so that pgbench
-- runs the same SQL against the same shapes, while its rows stay invisible to the service (a
-- `queued` row in public.jobs would be enqueued by the sweeper and run by the worker).
-- Idempotent: drops and rebuilds the schema. Variables: -v team=<id> -v credits=<allocated>.
DROP SCHEMA IF EXISTS pgbench_jobs CASCADE;
CREATE SCHEMA pgbench_jobs;

CREATE TABLE pgbench_jobs.teams (LIKE public.teams INCLUDING ALL);
CREATE TABLE pgbench_jobs.credit_accounts (LIKE public.credit_accounts INCLUDING ALL);
CREATE TABLE pgbench_jobs.jobs (LIKE public.jobs INCLUDING ALL);
CREATE TABLE pgbench_jobs.credit_ledger (LIKE public.credit_ledger INCLUDING ALL);

ALTER TABLE pgbench_jobs.credit_accounts
    ADD FOREIGN KEY (team_id) REFERENCES pgbench_jobs.teams ON DELETE CASCADE;
ALTER TABLE pgbench_jobs.jobs
    ADD FOREIGN KEY (team_id) REFERENCES pgbench_jobs.teams ON DELETE RESTRICT;
ALTER TABLE pgbench_jobs.credit_ledger
    ADD FOREIGN KEY (team_id) REFERENCES pgbench_jobs.teams ON DELETE CASCADE,
    ADD FOREIGN KEY (job_id) REFERENCES pgbench_jobs.jobs ON DELETE CASCADE;

INSERT INTO pgbench_jobs.teams (team_id, organization_id) VALUES (:'team', 'pgbench');
INSERT INTO pgbench_jobs.credit_accounts (team_id, credits_allocated) VALUES (:'team', :credits);
INSERT INTO pgbench_jobs.credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, reason)
VALUES (gen_random_uuid(), :'team', 'allocation', :credits, :credits, 'pgbench');
ANALYZE pgbench_jobs.teams;
ANALYZE pgbench_jobs.credit_accounts;
