-- scripts/bench-jobs.sh: a team's jobs per half second since a moment, by one of their
-- timestamps; prints the counts space-separated. Variables: -v team=<id>
-- -v column=<started_at|completed_at> -v start=<epoch seconds>.
WITH b AS (SELECT floor((extract(epoch FROM :"column") - :start) * 2)::int AS b FROM jobs WHERE team_id = :'team' AND :"column" IS NOT NULL)
SELECT string_agg(coalesce(n, 0)::text, ' ' ORDER BY g) FROM generate_series(least(0, (SELECT min(b) FROM b)), (SELECT max(b) FROM b)) g
LEFT JOIN (SELECT b, count(*) n FROM b GROUP BY b) c ON c.b = g;
