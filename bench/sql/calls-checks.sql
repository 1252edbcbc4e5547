-- scripts/bench-calls.sh, after a phase has settled: a team's jobs and money in one line,
-- `jobs|completed|unsettled|reserved|ledger|reservations|releases|jobs_holding`:
-- its jobs, those completed, those not ended yet, the credits its account still holds reserved,
-- t when its ledger adds up to its account (allocated - used - reserved), its reservation and
-- release rows (one each per settled job: a settlement releases the whole reservation and
-- charges what the call cost), and the ended jobs that reserved credits but have no release row.
-- Variables: -v team=<id>.
SELECT (SELECT count(*) FROM jobs WHERE team_id = :'team'),
       (SELECT count(*) FROM jobs WHERE team_id = :'team' AND status = 'completed'),
       (SELECT count(*) FROM jobs WHERE team_id = :'team' AND status NOT IN ('completed', 'failed', 'cancelled', 'expired')),
       (SELECT credits_reserved FROM credit_accounts WHERE team_id = :'team'),
       (SELECT sum(credits_amount) FROM credit_ledger WHERE team_id = :'team')
         = (SELECT credits_allocated - credits_used - credits_reserved FROM credit_accounts WHERE team_id = :'team'),
       (SELECT count(*) FROM credit_ledger WHERE team_id = :'team' AND transaction_type = 'reservation'),
       (SELECT count(*) FROM credit_ledger WHERE team_id = :'team' AND transaction_type = 'release'),
       (SELECT count(*) FROM jobs j WHERE j.team_id = :'team' AND j.status IN ('completed', 'failed', 'cancelled', 'expired')
          AND j.credits_reserved > 0
          AND NOT EXISTS (SELECT 1 FROM credit_ledger l WHERE l.job_id = j.job_id AND l.transaction_type = 'release'));
