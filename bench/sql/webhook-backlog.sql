-- scripts/bench-webhooks.sh, backlog phase: deliveries queued with no worker running, then sent by
-- one. One line: deliveries|delivered|deliveries/s (first delivery to last)|seconds from the first
-- delivery to the last|most attempts of one delivery. Variables: -v team=<team_id>,
-- -v since=<timestamptz> (when the backlog was written).
SELECT count(*),
       count(*) FILTER (WHERE status = 'delivered'),
       round((count(*) / nullif(extract(epoch FROM max(delivered_at) - min(delivered_at)), 0))::numeric, 1),
       round(extract(epoch FROM max(delivered_at) - min(delivered_at))::numeric, 2),
       max(attempts)
FROM webhook_deliveries
WHERE team_id = :'team' AND created_at >= :'since'::timestamptz;
