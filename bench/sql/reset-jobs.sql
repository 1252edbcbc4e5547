-- scripts/bench-jobs.sh: drops every job of the measured teams (and, by cascade, their ledger
-- rows) and their reservations, so the next phase starts empty; the history stays. Then fresh
-- planner statistics for the tables the next phase writes. Variables: -v history=<team id>.
DELETE FROM jobs WHERE team_id <> :'history';
UPDATE credit_accounts SET credits_reserved = 0, credits_used = 0;
VACUUM ANALYZE jobs;
VACUUM ANALYZE credit_ledger;
VACUUM ANALYZE credit_accounts;
