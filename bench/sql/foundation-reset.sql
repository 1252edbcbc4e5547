-- scripts/bench-foundation.sh: every PostgreSQL measurement starts with an empty bench_log.
TRUNCATE bench_log;
