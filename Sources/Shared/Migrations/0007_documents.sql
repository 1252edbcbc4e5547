-- Documents as uploaded files (issue 14). An upload's bytes are kept in parts of at most 1 MiB,
-- written as they stream in, so the API never holds a whole file. A document's id is the id of
-- the job it belongs to: the upload is stored before the job's row exists, and one without a job
-- after an hour (a refused submit whose clean-up was lost with its process) is deleted by the
-- sweeper — never one whose job exists.
CREATE TABLE documents (
    document_id uuid PRIMARY KEY,
    team_id     text NOT NULL REFERENCES teams ON DELETE CASCADE,
    status      text NOT NULL CHECK (status IN ('uploading', 'stored')),
    kind        text CHECK (kind IN ('pdf', 'docx', 'odt', 'html', 'markdown', 'text')),
    file_name   text CHECK (length(file_name) <= 255),
    byte_size   bigint NOT NULL DEFAULT 0 CHECK (byte_size >= 0),
    sha256      bytea CHECK (length(sha256) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stored_has_kind CHECK (status = 'uploading' OR (kind IS NOT NULL AND sha256 IS NOT NULL))
);
-- The sweeper's search for abandoned uploads.
CREATE INDEX documents_created ON documents (created_at);

CREATE TABLE document_parts (
    document_id uuid NOT NULL REFERENCES documents ON DELETE CASCADE,
    part_number integer NOT NULL CHECK (part_number >= 0),
    bytes       bytea NOT NULL CHECK (length(bytes) BETWEEN 1 AND 1048576),
    PRIMARY KEY (document_id, part_number)
);

-- The text a worker extracted from a job's document, pages separated by form feeds: a job step,
-- written once, so a redelivered job does not extract again.
CREATE TABLE document_texts (
    job_id        uuid PRIMARY KEY REFERENCES jobs ON DELETE CASCADE,
    pages         integer NOT NULL CHECK (pages >= 1),
    content       text NOT NULL,
    extraction_ms integer NOT NULL CHECK (extraction_ms >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- A structured answer that did not match its schema, twice.
ALTER TABLE jobs DROP CONSTRAINT jobs_error_code_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_error_code_check CHECK (error_code IN ('upstream_error', 'invalid_request',
    'context_too_long', 'poison', 'expired', 'cancelled', 'partial', 'invalid_output'));

-- DELETE /api/jobs/{id} (and retention) erase a terminal job's contents; ids, status, usage,
-- costs and ledger rows stay.
ALTER TABLE jobs ADD COLUMN content_erased_at timestamptz;
