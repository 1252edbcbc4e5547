-- scripts/bench-jobs.sh, after the submit run: t when the team's ledger adds up to its account
-- (allocated - used - reserved) and it holds one reservation row per job. Variables: -v team=<id>.
SELECT (SELECT sum(credits_amount) FROM credit_ledger WHERE team_id = :'team')
         = (SELECT credits_allocated - credits_used - credits_reserved FROM credit_accounts WHERE team_id = :'team')
   AND (SELECT count(*) FROM credit_ledger WHERE team_id = :'team' AND transaction_type = 'reservation')
         = (SELECT count(*) FROM jobs WHERE team_id = :'team');
