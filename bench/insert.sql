-- pgbench script for scripts/bench-foundation.sh: one single-row INSERT (autocommit),
-- the counterpart of `saas-bench postgres --op insert`. :v comes from `pgbench -D v=bench`, so
-- both values travel as bound parameters, as they do through PostgresClient.
\set k random(1, 100000)
INSERT INTO bench_log (k, v) VALUES (:k, :v);
