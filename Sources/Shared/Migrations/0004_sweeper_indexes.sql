-- The sweeper's filters, each on an index holding only live jobs, so that a sweep costs what
-- changed, not what exists (issue 8, item 15): terminal jobs are never in them.

-- Overdue jobs (`expires_at < now()`), and the paged full re-enqueue after Redis lost its data
-- (keyset on expires_at, job_id).
CREATE INDEX jobs_live_expires ON jobs (expires_at, job_id)
    WHERE status IN ('pending', 'queued', 'in_progress', 'cancelling');

-- Expired leases.
CREATE INDEX jobs_leased ON jobs (lease_expires_at)
    WHERE status IN ('in_progress', 'cancelling');

-- Queued jobs changed since the last sweep's watermark: committed submits the submitter may not
-- have enqueued, retries, hand-backs.
CREATE INDEX jobs_queued_changed ON jobs (updated_at, job_id)
    WHERE status = 'queued';
