-- scripts/bench-jobs.sh: how many PostgreSQL transactions carried a team's submits, claims and
-- settlements, and how many jobs each carried on average. Rows written by one transaction share
-- its now() (ledger rows' created_at, jobs' started_at).
-- Prints "submit N tx (avg a jobs) · claim N tx (avg b) · settle N tx (avg c)". Variables: -v team=<id>.
SELECT concat_ws(' · ',
    (SELECT format('submit %s tx (avg %s jobs)', count(*), round(avg(n), 1)) FROM (SELECT count(*) n FROM credit_ledger
       WHERE team_id = :'team' AND transaction_type = 'reservation' GROUP BY created_at) s),
    (SELECT format('claim %s tx (avg %s)', count(*), round(avg(n), 1)) FROM (SELECT count(*) n FROM jobs
       WHERE team_id = :'team' AND started_at IS NOT NULL GROUP BY started_at) s),
    (SELECT format('settle %s tx (avg %s)', count(*), round(avg(n), 1)) FROM (SELECT count(*) n FROM credit_ledger
       WHERE team_id = :'team' AND transaction_type = 'release' GROUP BY created_at) s));
