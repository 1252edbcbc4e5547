-- scripts/bench-jobs.sh, slow-upstream phase: `completed|last settlement|first claim` (epoch s)
-- of a team's jobs. Variables: -v team=<id>.
SELECT count(*) FILTER (WHERE status = 'completed'), extract(epoch FROM max(completed_at)), extract(epoch FROM min(started_at))
FROM jobs WHERE team_id = :'team';
