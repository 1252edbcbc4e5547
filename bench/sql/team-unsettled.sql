-- scripts/bench-jobs.sh and bench-calls.sh (wait_settled): 1 while a team has a job not settled
-- yet, then 0. Polled through one long-lived psql several times a second while the measured
-- system works, so it stops at the first live job it finds: counting them read every job of
-- the team at each poll (20 ms with 20,000 jobs; ~8 % of the machine in the slow-upstream
-- phase, taken from what was measured). Variables: team (\set by the poller).
SELECT count(*) FROM (
    SELECT 1 FROM jobs WHERE team_id = :'team' AND status IN ('pending', 'queued', 'in_progress', 'cancelling') LIMIT 1
) AS live;
