-- scripts/bench-jobs.sh: where a job's time went, p50/p99 over a team's completed jobs: claimed
-- (started_at, the claiming transaction's start) → upstream call started (the call row's
-- created_at, taken when the call ended, minus its latency) → call ended → settled
-- (completed_at, the settling transaction's start). Variables: -v team=<id>.
WITH x AS (SELECT extract(epoch FROM c.created_at - j.started_at) * 1000 - c.latency_ms AS dispatch, c.latency_ms AS call,
                  extract(epoch FROM j.completed_at - c.created_at) * 1000 AS settle
           FROM jobs j JOIN job_calls c ON c.job_id = j.job_id AND c.billed WHERE j.team_id = :'team' AND j.status = 'completed')
SELECT format('claimed → call started %s / %s ms · call %s / %s ms · call ended → settled %s / %s ms (p50 / p99)',
  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY dispatch)::numeric), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY dispatch)::numeric),
  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY call)::numeric), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY call)::numeric),
  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY settle)::numeric), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY settle)::numeric))
FROM x;
