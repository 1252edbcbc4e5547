-- scripts/bench-jobs.sh, end-to-end phase: `completed|last settlement (epoch s)|p50 ms|p99 ms` of
-- a team's jobs, the latencies being completed_at - created_at. Variables: -v team=<id>.
SELECT count(*) FILTER (WHERE status = 'completed'), extract(epoch FROM max(completed_at)),
       round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)))::numeric, 1),
       round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)))::numeric, 1)
FROM jobs WHERE team_id = :'team';
