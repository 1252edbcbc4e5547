-- The age of each team's oldest queued job, for the queue gauges (issue 13, item 4): one index
-- probe per team, where an aggregate over every live job cost what the backlog holds. Only queued
-- jobs of a model group are in it, which is what the gauges and GET /api/admin/queue count.
CREATE INDEX jobs_queued_team ON jobs (team_id, created_at)
    WHERE status = 'queued' AND model_group IS NOT NULL;
