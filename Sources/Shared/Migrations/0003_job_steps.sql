-- Finished steps of a document job (chunk analyses and reduce results), kept as they finish so
-- that a redelivered job resumes instead of starting over. One row per step and reservation:
-- a retried job (new reservation) starts afresh.
CREATE TABLE job_steps (
    job_id             uuid NOT NULL REFERENCES jobs ON DELETE CASCADE,
    reservation_number integer NOT NULL,
    step               text NOT NULL CHECK (step IN ('chunk', 'reduce')),
    level              integer NOT NULL CHECK (level >= 0),
    step_index         integer NOT NULL CHECK (step_index >= 0),
    content            text NOT NULL,
    call_id            uuid NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, reservation_number, step, level, step_index)
);

-- Workers learn a provider's health from each other through the database as well as Redis:
-- the last error is what admins see in GET /api/providers.
CREATE INDEX job_calls_provider_errors ON job_calls (provider, created_at DESC) WHERE error IS NOT NULL;
