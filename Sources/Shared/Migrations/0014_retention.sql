-- Retention (`teams.retention_days`): the sweeper erases the contents of jobs that ended more
-- than that long ago, a small batch at a time. Only ended top-level jobs whose contents are still
-- there are in this index, so each sweep reads the few that fell due, never the erased past.
CREATE INDEX jobs_retention ON jobs (team_id, completed_at)
    WHERE content_erased_at IS NULL AND completed_at IS NOT NULL AND parent_job_id IS NULL;
