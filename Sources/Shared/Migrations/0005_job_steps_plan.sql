-- Document steps are kept per plan (the model and the chunk size that split the document): a
-- fallback model with another context size splits the document differently, so it must never
-- reuse another plan's chunk analyses (parts would be skipped or read twice). Steps kept before
-- this migration belong to no plan and are simply not reused.
ALTER TABLE job_steps ADD COLUMN plan text NOT NULL DEFAULT '';
ALTER TABLE job_steps DROP CONSTRAINT job_steps_pkey;
ALTER TABLE job_steps ADD PRIMARY KEY (job_id, reservation_number, plan, step, level, step_index);
