-- pgbench script for scripts/bench-foundation.sh: one single-row SELECT by random primary key,
-- the counterpart of `saas-bench postgres --op select`.
\set k random(1, 100000)
SELECT v FROM bench_kv WHERE k = :k;
