-- An upload becomes `attached` once its job is written, so the sweeper's search for abandoned
-- uploads reads only those that are not (a partial index), instead of every document ever kept.
-- One whose mark was lost with its API process stays `stored`; the sweeper still checks that no
-- job has its id before erasing it.
ALTER TABLE documents DROP CONSTRAINT documents_status_check;
ALTER TABLE documents ADD CONSTRAINT documents_status_check CHECK (status IN ('uploading', 'stored', 'attached'));
UPDATE documents d SET status = 'attached' WHERE status = 'stored' AND EXISTS (SELECT 1 FROM jobs j WHERE j.job_id = d.document_id);
DROP INDEX documents_created;
CREATE INDEX documents_unattached ON documents (created_at) WHERE status <> 'attached';
