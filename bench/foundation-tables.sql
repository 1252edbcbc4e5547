-- Tables for scripts/bench-foundation.sh (made with psql, never by the service's migrations).
-- bench_kv: 100,000 rows read by the SELECT benchmarks; bench_log: written by the INSERT ones.
-- Idempotent: bench_kv is refilled only when it does not hold exactly k = 1…100000.
CREATE TABLE IF NOT EXISTS bench_kv (k int PRIMARY KEY, v text NOT NULL);
CREATE TABLE IF NOT EXISTS bench_log (id bigserial PRIMARY KEY, k int NOT NULL, v text NOT NULL);
DO $$
BEGIN
    IF (SELECT count(*) FROM bench_kv) <> 100000 OR (SELECT max(k) FROM bench_kv) <> 100000 THEN
        TRUNCATE bench_kv;
        INSERT INTO bench_kv (k, v) SELECT g, md5(g::text) FROM generate_series(1, 100000) AS g;
    END IF;
END
$$;
TRUNCATE bench_log;
VACUUM ANALYZE bench_kv;
