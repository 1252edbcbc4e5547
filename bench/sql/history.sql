-- scripts/bench-jobs.sh: history, finished (cancelled: no money moved, so no ledger rows) jobs of
-- a team of their own over the last day, then fresh planner statistics.
--
-- On an empty, freshly analyzed table the planner takes `jobs` for tiny and plans lookups on it —
-- the foreign-key checks of every ledger and call row among them — as sequential scans until
-- autovacuum analyzes it again; a service that has run for a while has history and statistics.
-- Variables: -v team=<id> -v model=<model group> -v jobs=<count>.
INSERT INTO jobs (job_id, team_id, job_type, status, priority, model_group, request, metadata, budget_mode, tokens_per_credit,
       credits_per_dollar, credits_reserved, reservation_number, calls_planned, error_code, error_message, created_at,
       completed_at, expires_at, updated_at)
SELECT gen_random_uuid(), :'team', 'chat', 'cancelled', 0, :'model',
       '{"messages":[{"content":"hello","role":"user"}]}', '{}', 'job_based', 10000, 10, 0, 1, 1, 'cancelled',
       'The job was cancelled', now() - g * interval '864 ms', now() - g * interval '864 ms' + interval '1 minute',
       now() - g * interval '864 ms' + interval '1 day', now()
FROM generate_series(1, :jobs) AS g;
VACUUM ANALYZE jobs;
