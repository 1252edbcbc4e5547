-- Teams at scale: webhooks, per-team limits, low-balance alerts, batch answers.
--
-- Webhook deliveries are an outbox: the row that records a delivery is written by a trigger in
-- the very statement that moves a job to a terminal status (settlement, cancel, expiry, complete,
-- poison — whatever code path does it) or takes a balance below its threshold, so the event and
-- its cause commit together or not at all. Workers send the rows; PostgreSQL is their queue.

-- One endpoint per team. The secret signs deliveries (Standard Webhooks); it is stored encrypted
-- with the provider keys' SecretBox, since the sender needs it back.
CREATE TABLE webhook_endpoints (
    team_id          text PRIMARY KEY REFERENCES teams ON DELETE CASCADE,
    url              text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048 AND url ~ '^https?://'),
    events           text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 5 AND events <@
                         ARRAY['job.completed', 'job.failed', 'job.cancelled', 'job.expired', 'credits.low']),
    secret_encrypted bytea NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per event to send. `delivery_id` is the stable `webhook-id` of every attempt; `payload`
-- is the body, fixed when the event happened (jsonb renders the same value as the same text).
CREATE TABLE webhook_deliveries (
    delivery_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id          text NOT NULL REFERENCES teams ON DELETE CASCADE,
    event            text NOT NULL CHECK (event IN ('job.completed', 'job.failed', 'job.cancelled', 'job.expired', 'credits.low')),
    job_id           uuid REFERENCES jobs ON DELETE CASCADE,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer CHECK (last_status_code BETWEEN 100 AND 999),
    last_error       text CHECK (length(last_error) <= 500),
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT delivered_has_time CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
-- The senders' queue: only pending rows, by when they fall due.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- The team's delivery log, newest first.
CREATE INDEX webhook_deliveries_team ON webhook_deliveries (team_id, created_at DESC, delivery_id DESC);

-- A submit may opt out of its job's webhook (`webhook: false`).
ALTER TABLE jobs ADD COLUMN webhook boolean NOT NULL DEFAULT true;

-- What a job's event carries: ids, status, usage, costs, error — never the request or result
-- (receivers fetch the job; a payload kept for retries must not hold content retention erases).
CREATE FUNCTION webhook_job_payload(j jobs, event text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'type', event,
        'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'data', jsonb_strip_nulls(jsonb_build_object(
            'job_id', j.job_id,
            'team_id', j.team_id,
            'job_type', j.job_type,
            'user_id', j.user_id,
            'status', j.status,
            'model', j.model_group,
            'metadata', j.metadata,
            'created_at', to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'completed_at', to_char(j.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'attempts', j.attempts,
            'credits_reserved', j.credits_reserved,
            'credits_charged', j.credits_charged,
            'cost_usd', j.cost_usd,
            'usage', CASE WHEN j.prompt_tokens IS NOT NULL THEN jsonb_build_object(
                'prompt_tokens', j.prompt_tokens,
                'completion_tokens', j.completion_tokens,
                'total_tokens', j.prompt_tokens + j.completion_tokens) END,
            'error', CASE WHEN j.error_code IS NOT NULL THEN jsonb_build_object(
                'code', j.error_code, 'message', j.error_message) END
        ))
    )
$$;

CREATE FUNCTION jobs_webhook_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (team_id, event, job_id, payload)
    SELECT e.team_id, 'job.' || NEW.status, NEW.job_id, webhook_job_payload(NEW, 'job.' || NEW.status)
    FROM webhook_endpoints e
    WHERE e.team_id = NEW.team_id AND ('job.' || NEW.status) = ANY (e.events);
    RETURN NULL;
END
$$;

-- Fires only for a top-level job reaching a terminal status (a step-by-step job's calls are not
-- events; their job is). The WHEN clause is checked without calling the function.
CREATE TRIGGER jobs_webhook_outbox AFTER UPDATE OF status ON jobs FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND NEW.status IN ('completed', 'failed', 'cancelled', 'expired')
          AND NEW.webhook AND NEW.parent_job_id IS NULL)
    EXECUTE FUNCTION jobs_webhook_outbox();

-- Per-team limits (admin `PUT /api/teams/{id}/limits`); NULL is "no limit".
ALTER TABLE teams
    ADD COLUMN max_queued_jobs     integer CHECK (max_queued_jobs BETWEEN 1 AND 10000000),
    ADD COLUMN submits_per_second  numeric(12, 3) CHECK (submits_per_second > 0 AND submits_per_second <= 100000),
    ADD COLUMN max_concurrent_jobs integer CHECK (max_concurrent_jobs BETWEEN 1 AND 100000),
    ADD COLUMN retention_days      integer CHECK (retention_days BETWEEN 1 AND 3650);

-- The low-balance alert lives beside the balance it watches: `credits.low` fires (webhook and
-- audit row) when credits_remaining goes below the threshold while armed; it re-arms when credits
-- are added (allocation grows) and the balance is back at or above the threshold.
ALTER TABLE credit_accounts
    ADD COLUMN low_balance_threshold bigint CHECK (low_balance_threshold >= 0),
    ADD COLUMN low_balance_alerted   boolean NOT NULL DEFAULT false;

CREATE FUNCTION credit_accounts_low_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    remaining bigint := NEW.credits_allocated - NEW.credits_used - NEW.credits_reserved;
BEGIN
    IF NOT NEW.low_balance_alerted AND remaining < NEW.low_balance_threshold THEN
        NEW.low_balance_alerted := true;
        INSERT INTO audit_log (actor, action, target, outcome, details)
        VALUES ('system', 'credits.low', NEW.team_id, 'alerted',
                jsonb_build_object('credits_remaining', remaining, 'low_balance_threshold', NEW.low_balance_threshold));
        INSERT INTO webhook_deliveries (team_id, event, payload)
        SELECT e.team_id, 'credits.low', jsonb_build_object(
            'type', 'credits.low',
            'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'data', jsonb_build_object(
                'team_id', NEW.team_id,
                'credits_remaining', remaining,
                'low_balance_threshold', NEW.low_balance_threshold))
        FROM webhook_endpoints e
        WHERE e.team_id = NEW.team_id AND 'credits.low' = ANY (e.events);
    ELSIF NEW.low_balance_alerted AND remaining >= NEW.low_balance_threshold
          AND NEW.credits_allocated > OLD.credits_allocated THEN
        NEW.low_balance_alerted := false;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER credit_accounts_low_balance BEFORE UPDATE ON credit_accounts FOR EACH ROW
    WHEN (NEW.low_balance_threshold IS NOT NULL)
    EXECUTE FUNCTION credit_accounts_low_balance();

-- A batch submitted under an Idempotency-Key keeps its answer, written in the batch's own
-- transaction, so a replay answers the same (and a different body under the key is a 409).
CREATE TABLE job_batches (
    team_id         text NOT NULL REFERENCES teams ON DELETE CASCADE,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash    bytea NOT NULL,
    answer          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, idempotency_key)
);
CREATE INDEX job_batches_created ON job_batches (created_at);
