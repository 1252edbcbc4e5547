-- The first schema: tenancy, model routing, jobs, their calls, credits and the audit log.
-- Invariants live here as constraints, so that no code path can break them.

CREATE TABLE organizations (
    organization_id text PRIMARY KEY CHECK (organization_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- An upstream LLM endpoint. Its API key is stored encrypted (AES-GCM, key from the environment).
CREATE TABLE providers (
    name              text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    kind              text NOT NULL CHECK (kind IN ('openai', 'anthropic')),
    base_url          text NOT NULL CHECK (base_url ~ '^https?://'),
    api_key_encrypted bytea NOT NULL,
    rpm               integer CHECK (rpm > 0),
    tpm               integer CHECK (tpm > 0),
    timeout_seconds   integer NOT NULL DEFAULT 120 CHECK (timeout_seconds BETWEEN 1 AND 3600),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_groups (
    group_name   text PRIMARY KEY CHECK (group_name ~ '^[A-Za-z0-9._-]{1,64}$'),
    display_name text CHECK (length(display_name) <= 200),
    description  text CHECK (length(description) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The models of a group, tried by priority (lower first); the rest are fallbacks.
CREATE TABLE model_group_models (
    group_name               text NOT NULL REFERENCES model_groups ON DELETE CASCADE,
    position                 integer NOT NULL CHECK (position >= 0),
    model_name               text NOT NULL CHECK (length(model_name) BETWEEN 1 AND 200),
    provider                 text NOT NULL REFERENCES providers (name) ON DELETE RESTRICT,
    priority                 integer NOT NULL CHECK (priority >= 0),
    input_price_per_million  numeric(20, 6) NOT NULL DEFAULT 0 CHECK (input_price_per_million >= 0),
    output_price_per_million numeric(20, 6) NOT NULL DEFAULT 0 CHECK (output_price_per_million >= 0),
    context_tokens           integer CHECK (context_tokens > 0),
    PRIMARY KEY (group_name, position)
);
CREATE INDEX model_group_models_provider ON model_group_models (provider);

CREATE TABLE teams (
    team_id            text PRIMARY KEY CHECK (team_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    organization_id    text NOT NULL REFERENCES organizations ON DELETE RESTRICT,
    team_alias         text CHECK (length(team_alias) <= 200),
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    budget_mode        text NOT NULL DEFAULT 'job_based'
                       CHECK (budget_mode IN ('job_based', 'consumption_tokens', 'consumption_usd')),
    tokens_per_credit  integer NOT NULL DEFAULT 10000 CHECK (tokens_per_credit > 0),
    credits_per_dollar numeric(20, 6) NOT NULL DEFAULT 10 CHECK (credits_per_dollar > 0),
    metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_organization ON teams (organization_id);

-- Virtual keys: only a SHA-256 of the key and a short prefix for display. Exactly one current key
-- (expires_at NULL) per team; a rotated key with a grace period keeps working until expires_at.
CREATE TABLE team_keys (
    key_hash   bytea PRIMARY KEY CHECK (length(key_hash) = 32),
    team_id    text NOT NULL REFERENCES teams ON DELETE CASCADE,
    key_prefix text NOT NULL CHECK (length(key_prefix) BETWEEN 4 AND 16),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
CREATE UNIQUE INDEX team_keys_one_current ON team_keys (team_id) WHERE expires_at IS NULL;

CREATE TABLE team_model_groups (
    team_id    text NOT NULL REFERENCES teams ON DELETE CASCADE,
    group_name text NOT NULL REFERENCES model_groups ON DELETE RESTRICT,
    PRIMARY KEY (team_id, group_name)
);
CREATE INDEX team_model_groups_group ON team_model_groups (group_name);

-- One balance per team: remaining = allocated - used - reserved, never below zero.
CREATE TABLE credit_accounts (
    team_id           text PRIMARY KEY REFERENCES teams ON DELETE CASCADE,
    credits_allocated bigint NOT NULL DEFAULT 0 CHECK (credits_allocated >= 0),
    credits_used      bigint NOT NULL DEFAULT 0 CHECK (credits_used >= 0),
    credits_reserved  bigint NOT NULL DEFAULT 0 CHECK (credits_reserved >= 0),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT credits_remaining_not_negative
        CHECK (credits_allocated - credits_used - credits_reserved >= 0)
);

CREATE TABLE jobs (
    job_id                  uuid PRIMARY KEY,
    team_id                 text NOT NULL REFERENCES teams ON DELETE RESTRICT,
    job_type                text NOT NULL CHECK (length(job_type) BETWEEN 1 AND 100),
    user_id                 text CHECK (length(user_id) <= 200),
    status                  text NOT NULL CHECK (status IN ('pending', 'queued', 'in_progress', 'cancelling',
                                                            'completed', 'failed', 'cancelled', 'expired')),
    priority                smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
    model_group             text,
    request                 jsonb,
    metadata                jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Rates as they were at submit: a later budget-mode change does not touch queued jobs.
    budget_mode             text NOT NULL CHECK (budget_mode IN ('job_based', 'consumption_tokens', 'consumption_usd')),
    tokens_per_credit       integer NOT NULL CHECK (tokens_per_credit > 0),
    credits_per_dollar      numeric(20, 6) NOT NULL CHECK (credits_per_dollar > 0),
    credits_reserved        bigint NOT NULL DEFAULT 0 CHECK (credits_reserved >= 0),
    credits_charged         bigint NOT NULL DEFAULT 0 CHECK (credits_charged >= 0),
    -- Which reservation is live: an admin retry of a failed job makes a new one.
    reservation_number      integer NOT NULL DEFAULT 0 CHECK (reservation_number >= 0),
    lease_token             uuid,
    lease_expires_at        timestamptz,
    worker_id               text,
    lease_expiries          integer NOT NULL DEFAULT 0 CHECK (lease_expiries >= 0),
    attempts                integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    retry_at                timestamptz,
    calls_done              integer NOT NULL DEFAULT 0 CHECK (calls_done >= 0),
    calls_planned           integer NOT NULL DEFAULT 0 CHECK (calls_planned >= 0),
    result                  jsonb,
    prompt_tokens           bigint CHECK (prompt_tokens >= 0),
    completion_tokens       bigint CHECK (completion_tokens >= 0),
    cost_usd                numeric(20, 8) CHECK (cost_usd >= 0),
    error_code              text CHECK (error_code IN ('upstream_error', 'invalid_request', 'context_too_long',
                                                       'poison', 'expired', 'cancelled', 'partial')),
    error_message           text,
    idempotency_key         text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash            bytea,
    created_at              timestamptz NOT NULL DEFAULT now(),
    started_at              timestamptz,
    completed_at            timestamptz,
    expires_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT charge_within_reservation CHECK (credits_charged <= credits_reserved),
    CONSTRAINT terminal_has_completion CHECK (
        (status IN ('completed', 'failed', 'cancelled', 'expired')) = (completed_at IS NOT NULL)),
    CONSTRAINT idempotency_has_hash CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (team_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_team_created ON jobs (team_id, created_at DESC, job_id DESC);
CREATE INDEX jobs_created ON jobs (created_at DESC, job_id DESC);
-- The sweeper's working set: every job that is not yet terminal.
CREATE INDEX jobs_live ON jobs (status, lease_expires_at)
    WHERE status IN ('pending', 'queued', 'in_progress', 'cancelling');

-- Every upstream call of every delivery, billed or not (a duplicate delivery's calls are kept).
CREATE TABLE job_calls (
    call_id             uuid PRIMARY KEY,
    job_id              uuid NOT NULL REFERENCES jobs ON DELETE CASCADE,
    lease_token         uuid,
    step                text NOT NULL DEFAULT 'single' CHECK (step IN ('single', 'chunk', 'reduce')),
    step_index          integer NOT NULL DEFAULT 0,
    model               text NOT NULL,
    provider            text NOT NULL,
    attempt             integer NOT NULL CHECK (attempt >= 1),
    status_code         integer,
    error_class         text,
    error               text,
    upstream_request_id text,
    prompt_tokens       bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens   bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    cost_usd            numeric(20, 8) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    latency_ms          integer NOT NULL DEFAULT 0 CHECK (latency_ms >= 0),
    billed              boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_calls_job ON job_calls (job_id, created_at);

-- The ledger: every change of a balance, in the transaction that makes it. credits_amount is the
-- change of credits_remaining (a reservation -R; at settlement its release +R and the charge -C),
-- so a team's rows add up to its remaining balance, and credits_after is that balance after the row.
CREATE TABLE credit_ledger (
    transaction_id     uuid PRIMARY KEY,
    sequence           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    team_id            text NOT NULL REFERENCES teams ON DELETE CASCADE,
    transaction_type   text NOT NULL CHECK (transaction_type IN ('allocation', 'adjustment', 'reservation', 'charge', 'release')),
    credits_amount     bigint NOT NULL,
    credits_after      bigint NOT NULL CHECK (credits_after >= 0),
    job_id             uuid REFERENCES jobs ON DELETE CASCADE,
    reservation_number integer,
    reason             text CHECK (length(reason) <= 500),
    idempotency_key    text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash       bytea,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_rows_have_reservation CHECK ((job_id IS NULL) = (reservation_number IS NULL)),
    CONSTRAINT job_kinds CHECK ((job_id IS NOT NULL) = (transaction_type IN ('reservation', 'charge', 'release')))
);
-- One reservation, one charge and one release per job and reservation: settling twice is impossible.
CREATE UNIQUE INDEX credit_ledger_job_kind ON credit_ledger (job_id, reservation_number, transaction_type)
    WHERE job_id IS NOT NULL;
CREATE UNIQUE INDEX credit_ledger_idempotency ON credit_ledger (team_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX credit_ledger_team ON credit_ledger (team_id, sequence DESC);

-- Admin actions and aggregated failed authentications (one row per source and minute).
CREATE TABLE audit_log (
    audit_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor        text NOT NULL,
    action       text NOT NULL,
    target       text,
    outcome      text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    event_count  integer NOT NULL DEFAULT 1 CHECK (event_count >= 1),
    window_start timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX audit_log_failed_auth_window ON audit_log (action, actor, window_start)
    WHERE window_start IS NOT NULL;
