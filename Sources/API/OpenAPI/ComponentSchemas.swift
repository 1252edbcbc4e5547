import OpenAPIKit

/// The document's shared schemas (`#/components/schemas`), each written once and referenced by
/// every operation that answers or takes it. Field names and nullability follow the controllers'
/// Codable types: a Swift optional left out when nil is an optional property; one encoded as
/// `null` (API.md: "fields that are not known yet are null") is a nullable required one.
enum ComponentSchemas {
    static var all: OrderedDictionary<String, JSONSchema> {
        var schemas: OrderedDictionary<String, JSONSchema> = ["Error": error]
        for (name, schema) in tenancy { schemas[name] = schema }
        for (name, schema) in billing { schemas[name] = schema }
        for (name, schema) in jobs { schemas[name] = schema }
        for (name, schema) in steps { schemas[name] = schema }
        for (name, schema) in operations { schemas[name] = schema }
        for (name, schema) in requests { schemas[name] = schema }
        return schemas
    }

    /// Every error: `{"detail": "<one sentence>"}`.
    static let error = JSONSchema.record("Every error answer.", ["detail": .text("One sentence; a validation error's names the field.")])

    static let identifierPattern = "^[A-Za-z0-9._-]{1,64}$"
    static let identifier = JSONSchema.text("1-64 letters, digits, '-', '_' or '.'", minLength: 1, maxLength: 64, pattern: identifierPattern)
    static let budgetModes = ["job_based", "consumption_tokens", "consumption_usd"]
    static let jobStatuses = ["pending", "queued", "in_progress", "cancelling", "completed", "failed", "cancelled", "expired"]
    static let webhookEvents = ["job.completed", "job.failed", "job.cancelled", "job.expired", "credits.low"]

    static var tenancy: OrderedDictionary<String, JSONSchema> {
        [
            "Organization": .record(
                nil,
                [
                    "organization_id": .text(), "name": .text(), "metadata": .anyObject, "created_at": .timestamp, "updated_at": .timestamp,
                ]
            ),
            "OrganizationList": .page("organizations", of: "Organization"),
            "TeamLimits": .record(
                "A team's limits; `null` is no limit.",
                [
                    "max_queued_jobs": .nullableInteger, "submits_per_second": .number(nullable: true),
                    "max_concurrent_jobs": .nullableInteger, "retention_days": .nullableInteger,
                    "low_balance_threshold": .nullableInteger,
                ]
            ),
            "TeamLimitsAnswer": .record(
                "The team's id and its limits (`null`: no limit).",
                [
                    "team_id": .text(), "max_queued_jobs": .nullableInteger, "submits_per_second": .number(nullable: true),
                    "max_concurrent_jobs": .nullableInteger, "retention_days": .nullableInteger,
                    "low_balance_threshold": .nullableInteger,
                ]
            ),
            "Team": .record(
                "A team; `virtual_key` only in the answers of create (the one time it is shown).",
                [
                    "team_id": .text(), "organization_id": .text(), "team_alias": JSONSchema.nullableText().optional,
                    "status": .oneOfText(["active", "suspended"]), "model_groups": .list(.text()),
                    "credits_allocated": .count(), "credits_used": .count(), "credits_reserved": .count(), "credits_remaining": .count(),
                    "budget_mode": .oneOfText(budgetModes), "tokens_per_credit": .count(), "credits_per_dollar": .number(),
                    "key_prefix": JSONSchema.nullableText("the first characters of the current key, never the key").optional,
                    "metadata": .anyObject, "created_at": .timestamp, "updated_at": .timestamp, "limits": .ref("TeamLimits"),
                    "virtual_key": JSONSchema.text("`sk-…`, shown once").optional,
                ]
            ),
            "TeamList": .page("teams", of: "Team"),
            "KeyRotation": .record(
                "The new key (shown once); the old one works until `previous_key_expires_at`.",
                [
                    "team_id": .text(), "virtual_key": .text(), "key_prefix": .text(),
                    "previous_key_expires_at": JSONSchema.nullableTimestamp.optional,
                ]
            ),
            "Me": .record(
                "The key's team.",
                [
                    "team_id": .text(), "organization_id": .text(), "team_alias": JSONSchema.nullableText().optional,
                    "status": .oneOfText(["active", "suspended"]),
                    "model_groups": .list(.record(nil, ["group_name": .text(), "models": .list(.text())])),
                    "credits_allocated": .count(), "credits_used": .count(), "credits_reserved": .count(), "credits_remaining": .count(),
                    "budget_mode": .oneOfText(budgetModes), "key_prefix": JSONSchema.nullableText().optional,
                ]
            ),
            "Usage": .record(
                "Usage over a UTC period, per team and in total.",
                [
                    "organization_id": JSONSchema.nullableText().optional, "team_id": JSONSchema.nullableText().optional,
                    "period": .text("YYYY-MM or YYYY-MM-DD"), "start": .timestamp, "end": .timestamp,
                    "jobs": .ref("UsageJobs"), "credits_used": .count(), "tokens": .ref("UsageTokens"), "cost_usd": .money,
                    "teams": .list(
                        .record(
                            nil,
                            [
                                "team_id": .text(), "jobs": .ref("UsageJobs"), "credits_used": .count(), "tokens": .ref("UsageTokens"),
                                "cost_usd": .money,
                            ]
                        )
                    ),
                ]
            ),
            "UsageJobs": .record(nil, ["total": .count(), "completed": .count(), "failed": .count()]),
            "UsageTokens": .record(nil, ["prompt": .count(), "completion": .count(), "total": .count()]),
            "Model": .record(
                "A model of a group; lower `priority` is tried first.",
                [
                    "model_name": .text(), "provider": .text(), "priority": .integer,
                    "input_price_per_million": JSONSchema.money.optional, "output_price_per_million": JSONSchema.money.optional,
                    "context_tokens": JSONSchema.integer.optional,
                ]
            ),
            "ModelGroup": .record(
                nil,
                [
                    "group_name": .text(), "display_name": JSONSchema.nullableText().optional,
                    "description": JSONSchema.nullableText().optional, "models": .list(.ref("Model")),
                    "created_at": .timestamp, "updated_at": .timestamp,
                ]
            ),
            "ModelGroupList": .page("model_groups", of: "ModelGroup"),
            "ModelGroupDeleted": .record(nil, ["group_name": .text(), "deleted": .boolean]),
            "ProviderHealth": .record(
                "The circuit as the workers report it, and the last upstream error (never the key).",
                [
                    "circuit_state": .text("closed, half_open or open"), "open_until": JSONSchema.nullableTimestamp.optional,
                    "last_error": JSONSchema.nullableText().optional, "last_error_status": JSONSchema.nullableInteger.optional,
                    "last_error_at": JSONSchema.nullableTimestamp.optional,
                ]
            ),
            "Provider": .record(
                "An upstream endpoint; its key is stored encrypted and never answered.",
                [
                    "name": .text(), "kind": .oneOfText(["openai", "anthropic"]), "base_url": .text(),
                    "rpm": JSONSchema.nullableInteger.optional, "tpm": JSONSchema.nullableInteger.optional,
                    "timeout_seconds": .integer, "health": .ref("ProviderHealth"), "created_at": .timestamp, "updated_at": .timestamp,
                ]
            ),
            "ProviderList": .page("providers", of: "Provider"),
            "ProviderDeleted": .record(nil, ["name": .text(), "deleted": .boolean]),
        ]
    }

    static var billing: OrderedDictionary<String, JSONSchema> {
        [
            "Transaction": .record(
                "A ledger row; a team's rows add up to its balance.",
                [
                    "transaction_id": .uuid, "team_id": .text(),
                    "transaction_type": .oneOfText(["allocation", "adjustment", "reservation", "charge", "release"]),
                    "credits_amount": .integer, "credits_after": .integer, "job_id": JSONSchema.nullableUUID.optional,
                    "reason": JSONSchema.nullableText().optional, "created_at": .timestamp,
                ]
            ),
            "TransactionList": .page("transactions", of: "Transaction"),
            "CreditChange": .record(nil, ["team_id": .text(), "credits_added": .integer, "transaction": .ref("Transaction")]),
            "Balance": .record(
                "`credits_remaining = allocated - used - reserved`, never below zero.",
                [
                    "team_id": .text(), "credits_allocated": .count(), "credits_used": .count(), "credits_reserved": .count(),
                    "credits_remaining": .count(), "budget_mode": .oneOfText(budgetModes), "tokens_per_credit": .count(),
                    "credits_per_dollar": .number(),
                ]
            ),
            "Webhook": .record(
                "A team's endpoint; `secret` (`whsec_…`) only in the PUT's answer.",
                [
                    "team_id": .text(), "url": .text(), "events": .list(.oneOfText(webhookEvents)),
                    "secret": JSONSchema.text().optional, "created_at": .timestamp, "updated_at": .timestamp,
                ]
            ),
            "WebhookDeleted": .record(nil, ["team_id": .text(), "deleted": .boolean]),
            "WebhookDelivery": .record(
                nil,
                [
                    "delivery_id": .uuid, "event": .text(), "job_id": .nullableUUID, "status": .text("pending, delivered or failed"),
                    "attempts": .count(), "last_status_code": .nullableInteger, "last_error": .nullableText(),
                    "delivered_at": .nullableTimestamp, "created_at": .timestamp, "next_attempt_at": .nullableTimestamp,
                ]
            ),
            "WebhookDeliveryList": .page("deliveries", of: "WebhookDelivery"),
            "AuditEvent": .record(
                nil,
                [
                    "audit_id": .integer, "actor": .text(), "action": .text(), "target": JSONSchema.nullableText().optional,
                    "outcome": .text(), "details": .anyObject, "count": .count("failed authentications aggregated into this row"),
                    "window_start": JSONSchema.nullableTimestamp.optional, "created_at": .timestamp,
                ]
            ),
            "AuditList": .page("events", of: "AuditEvent"),
        ]
    }

    static var operations: OrderedDictionary<String, JSONSchema> {
        [
            "Health": .record(
                "`status` ok / ready / unavailable; `/ready` names the store that is down and nothing else.",
                [
                    "status": .text(), "postgres": JSONSchema.text().optional, "redis": JSONSchema.text().optional,
                    "detail": JSONSchema.text().optional,
                ]
            ),
            "QueueStats": .record(
                "Per team and in total.",
                [
                    "teams": .list(
                        .record(
                            nil,
                            [
                                "team_id": .text(), "queued": .count(), "scheduled": .count(), "in_progress": .count(),
                                "oldest_queued_age_seconds": JSONSchema.number(nullable: true).optional,
                            ]
                        )
                    ),
                    "totals": .record(
                        nil,
                        [
                            "queued": .count(), "scheduled": .count(), "in_progress": .count(),
                            "oldest_queued_age_seconds": JSONSchema.number(nullable: true).optional, "live_workers": .count(),
                            "worker_capacity": .count(), "workers_in_flight": .count(),
                        ]
                    ),
                    "paused": .boolean, "paused_since": .nullableTimestamp,
                ]
            ),
            "Worker": .record(
                "A live worker, from its heartbeats.",
                [
                    "worker_id": .text(), "host": .text(), "pid": .integer, "concurrency": .count(), "in_flight": .count(),
                    "started_at": .timestamp, "last_seen": .timestamp, "draining": .boolean,
                ]
            ),
            "WorkerList": .record(nil, ["workers": .list(.ref("Worker"))]),
            "WorkerDrain": .record(nil, ["worker_id": .text(), "draining": .boolean]),
            "QueuePause": .record(
                "Claiming fleet-wide after the call; `since` when it last changed (null: never); `changed` whether this call changed it.",
                ["paused": .boolean, "since": .nullableTimestamp, "changed": .boolean]
            ),
        ]
    }
}
