-- scripts/bench-webhooks.sh, live phase: the team's job events as the worker sent them while it
-- ran the jobs. One line: deliveries|delivered|jobs/s (first submit to last settlement)|
-- deliveries/s (first settlement to last delivery)|settlement→delivery p50|p99|max ms (PostgreSQL's
-- jobs.completed_at to webhook_deliveries.delivered_at, both stamped by their transactions)|most
-- attempts of one delivery. Variables: -v team=<team_id>.
SELECT count(*),
       count(*) FILTER (WHERE d.status = 'delivered'),
       round((count(*) / extract(epoch FROM max(j.completed_at) - min(j.created_at)))::numeric, 1),
       round((count(*) / extract(epoch FROM max(d.delivered_at) - min(j.completed_at)))::numeric, 1),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - j.completed_at) * 1000)::numeric, 1),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - j.completed_at) * 1000)::numeric, 1),
       round(max(extract(epoch FROM d.delivered_at - j.completed_at) * 1000)::numeric, 1),
       max(d.attempts)
FROM webhook_deliveries d JOIN jobs j USING (job_id)
WHERE d.team_id = :'team';
