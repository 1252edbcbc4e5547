-- scripts/bench-backlog.sh: a backlog of queued jobs spread evenly over teams of their own, written
-- the way submits leave them (issue 13, item 4): each team an account allocated :'credits' (with
-- its allocation row), each job `queued` in model group :'model' with a 1-credit reservation, its
-- ledger row and the account's credits_reserved — so the books balance as after real submits. Jobs
-- arrive over the last two hours (none younger than a second: the sweeper's full re-enqueue takes
-- them) and expire a day after. Redis is not touched: the bench's first sweep enqueues them.
-- Variables: -v org=<organization> -v prefix=<team id prefix> -v teams=<count> -v jobs=<count>
--            -v model=<model group> -v credits=<per team>.
INSERT INTO organizations (organization_id, name) VALUES (:'org', 'backlog bench') ON CONFLICT DO NOTHING;
INSERT INTO teams (team_id, organization_id)
SELECT :'prefix' || lpad(t::text, 6, '0'), :'org' FROM generate_series(1, :teams) AS t;
INSERT INTO team_model_groups (team_id, group_name)
SELECT :'prefix' || lpad(t::text, 6, '0'), :'model' FROM generate_series(1, :teams) AS t;
INSERT INTO credit_accounts (team_id, credits_allocated)
SELECT :'prefix' || lpad(t::text, 6, '0'), :credits FROM generate_series(1, :teams) AS t;
INSERT INTO credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, reason)
SELECT gen_random_uuid(), :'prefix' || lpad(t::text, 6, '0'), 'allocation', :credits, :credits, 'backlog bench'
FROM generate_series(1, :teams) AS t;

CREATE TEMP TABLE backlog AS
SELECT gen_random_uuid() AS job_id, :'prefix' || lpad(((g - 1) % :teams + 1)::text, 6, '0') AS team_id, g,
       now() - interval '2 hours' + g * (interval '1 hour' / :jobs) AS created_at
FROM generate_series(1, :jobs) AS g;

INSERT INTO jobs (job_id, team_id, job_type, status, priority, model_group, request, metadata, budget_mode, tokens_per_credit,
       credits_per_dollar, credits_reserved, reservation_number, calls_planned, created_at, expires_at, updated_at)
SELECT job_id, team_id, 'chat', 'queued', g % 10, :'model', '{"messages":[{"content":"hello","role":"user"}]}', '{}',
       'job_based', 10000, 10, 1, 1, 1, created_at, created_at + interval '1 day', created_at
FROM backlog ORDER BY g;

INSERT INTO credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, job_id, reservation_number, created_at)
SELECT gen_random_uuid(), team_id, 'reservation', -1,
       :credits - row_number() OVER (PARTITION BY team_id ORDER BY g), job_id, 1, created_at
FROM backlog ORDER BY g;

UPDATE credit_accounts a SET credits_reserved = b.n, updated_at = now()
FROM (SELECT team_id, count(*) AS n FROM backlog GROUP BY team_id) AS b WHERE a.team_id = b.team_id;
DROP TABLE backlog;
VACUUM ANALYZE jobs;
VACUUM ANALYZE credit_ledger;
VACUUM ANALYZE credit_accounts;
