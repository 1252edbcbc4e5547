-- scripts/bench-jobs.sh: how many jobs a team has. Variables: -v team=<id>.
SELECT count(*) FROM jobs WHERE team_id = :'team';
