-- scripts/bench-jobs.sh with BENCH_PROFILE=1: PostgreSQL's non-idle sessions of the benchmark
-- database every 20 ms (state | wait event | statement) until killed — where the hot account
-- row's lock holders spend their time: executing, or idle in transaction waiting for the
-- application's next statement. Run against the maintenance database. Variables: -v db=<name>.
SELECT state, coalesce(wait_event_type || ':' || wait_event, '-'),
  left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_activity WHERE datname = :'db'
  AND pid <> pg_backend_pid() AND state <> 'idle' AND application_name <> 'pgbench' AND query NOT LIKE '%pg_stat_activity%' \watch 0.02
