-- scripts/bench-jobs.sh: a team's jobs by status, one `status|count` line each. Variables: -v team=<id>.
SELECT status, count(*) FROM jobs WHERE team_id = :'team' GROUP BY status ORDER BY status;
