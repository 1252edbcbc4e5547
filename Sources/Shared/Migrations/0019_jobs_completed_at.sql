-- The dashboard's jobs/s chart counts jobs that ended in each 10-second bucket of the last ten
-- minutes; this index lets that read only the recent end of the ended jobs (live jobs, whose
-- completed_at is NULL, are not in it).
CREATE INDEX jobs_completed_at ON jobs (completed_at) WHERE completed_at IS NOT NULL;
