-- Step-by-step jobs (issue 10). A job created without work (`pending`, no model group) is a
-- container; each `llm-call` on it is a job of its own — a "call" — queued and run by the workers
-- like any job (same claim, leases, retries, fallbacks, sweeper), with `parent_job_id` naming the
-- container. A call that completes keeps its reservation and records what it would charge
-- (`credits_due`); the container's `complete` (or its cancel or expiry) settles them all at once,
-- in one transaction, exactly once.
ALTER TABLE jobs ADD COLUMN parent_job_id uuid REFERENCES jobs ON DELETE CASCADE;
ALTER TABLE jobs ADD COLUMN credits_due bigint CHECK (credits_due >= 0);
ALTER TABLE jobs ADD CONSTRAINT calls_have_work CHECK (parent_job_id IS NULL OR model_group IS NOT NULL);
ALTER TABLE jobs ADD CONSTRAINT due_within_reservation CHECK (credits_due IS NULL OR credits_due <= credits_reserved);

-- A container's calls, oldest first.
CREATE INDEX jobs_parent ON jobs (parent_job_id, created_at, job_id) WHERE parent_job_id IS NOT NULL;
