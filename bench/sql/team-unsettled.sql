-- scripts/bench-jobs.sh: how many of a team's jobs are not settled yet (polled, through one
-- long-lived psql, until none is). Variables: team (\set by the poller).
SELECT count(*) FROM jobs WHERE team_id = :'team' AND status NOT IN ('completed', 'failed', 'cancelled', 'expired');
