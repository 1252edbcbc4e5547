import OpenAPIKit

/// Request bodies, with the bounds the routes enforce (so that a generator's valid bodies are
/// valid). Rules across fields (a group the team holds, `team_id` the key's team) are in the
/// descriptions: a schema cannot know them.
extension ComponentSchemas {
    static let roles = ["system", "developer", "user", "assistant", "tool"]

    /// An OpenAI chat message: a known `role` and `content` (text or parts); an assistant's
    /// message with `tool_calls` may leave `content` out or null.
    static var message: JSONSchema {
        .any(of: [
            .record(nil, ["role": .oneOfText(roles), "content": .one(of: [.text(), .array])]),
            .record(nil, ["role": .oneOfText(["assistant"]), "tool_calls": .anyValue("the tool calls"), "content": JSONSchema.null().optional]),
        ])
    }

    static var messages: JSONSchema { .list(.ref("Message"), minItems: 1, maxItems: 10_000) }

    /// The generation options of submit and the call routes.
    static var chatOptions: OrderedDictionary<String, JSONSchema> {
        [
            "temperature": JSONSchema.number(0...2).optional,
            "max_tokens": JSONSchema.int(1...1_000_000).optional,
            "response_format": JSONSchema.anyValue("OpenAI's `response_format`; a document's is checked (text, json_object, json_schema)").optional,
            "tools": JSONSchema.anyValue("passed to the upstream").optional,
            "tool_choice": JSONSchema.anyValue("passed to the upstream").optional,
            "stop": JSONSchema.anyValue("passed to the upstream").optional,
            "top_p": JSONSchema.number(0...1).optional,
            "frequency_penalty": JSONSchema.number(-2...2).optional,
            "presence_penalty": JSONSchema.number(-2...2).optional,
        ]
    }

    static var submitProperties: OrderedDictionary<String, JSONSchema> {
        var properties: OrderedDictionary<String, JSONSchema> = [
            "team_id": identifier.with(description: "the key's own team"),
            "job_type": .text("a free label, 1-100 characters", minLength: 1, maxLength: 100),
            "user_id": JSONSchema.text(maxLength: 200).optional,
            "metadata": JSONSchema.object(description: "at most 16 KiB of JSON").optional,
            "model": JSONSchema.string(
                description: "a model group the team holds; without it the job is a `pending` container",
                minLength: 1,
                maxLength: 64,
                pattern: identifierPattern
            ).optional,
            "messages": messages.optional,
            "document": JSONSchema.text("UTF-8 text, at most 2 MiB", minLength: 1).optional,
            "instructions": JSONSchema.text("at most 100000 bytes").optional,
            "priority": JSONSchema.int(0...9, "higher first within the team").optional,
            "allow_partial": JSONSchema.boolean(required: false),
            "expires_in_seconds": JSONSchema.int(60...604_800, "default 86400").optional,
            "purpose": JSONSchema.text(maxLength: 200).optional,
            "webhook": JSONSchema.boolean(required: false, description: "false opts the job out of the team's webhook"),
        ]
        for (name, schema) in chatOptions { properties[name] = schema }
        return properties
    }

    static var requests: OrderedDictionary<String, JSONSchema> {
        [
            "Message": message,
            "SubmitRequest": .object(
                description: """
                    A job: `model` with either `messages` or `document` (+ `instructions`), or neither (a `pending` \
                    container for the step-by-step flow). `job_metadata` is the original system's name for `metadata`.
                    """,
                properties: submitProperties
            ),
            "BatchRequest": .record(
                "1-1000 submit bodies, 16 MiB in all; each stands alone unless `all_or_nothing`.",
                [
                    "jobs": .list(.ref("SubmitRequest"), minItems: 1, maxItems: 1000),
                    "all_or_nothing": JSONSchema.boolean(required: false),
                ]
            ),
            "CallRequest": .record(
                "One chat call on a step-by-step job.",
                {
                    var properties: OrderedDictionary<String, JSONSchema> = [
                        "model": identifier.with(description: "a model group the team holds"), "messages": messages,
                        "purpose": JSONSchema.text(maxLength: 200).optional,
                        "call_metadata": JSONSchema.object(description: "merged into the job's metadata on success").optional,
                    ]
                    for (name, schema) in chatOptions { properties[name] = schema }
                    return properties
                }()
            ),
            "CompleteRequest": .record(
                nil,
                [
                    "status": .oneOfText(["completed", "failed"]), "metadata": JSONSchema.anyObject.optional,
                    "error_message": JSONSchema.text(maxLength: 2000).optional,
                ]
            ),
            "MetadataPatch": .record("Merged shallowly into the job's metadata.", ["metadata": .anyObject]),
            "OrganizationCreate": .record(
                nil,
                [
                    "organization_id": identifier, "name": .text("1-200 characters, not blank", minLength: 1, maxLength: 200, pattern: "\\S"),
                    "metadata": JSONSchema.anyObject.optional,
                ]
            ),
            "TeamCreate": .record(
                nil,
                [
                    "organization_id": identifier, "team_id": identifier, "team_alias": JSONSchema.text(maxLength: 200).optional,
                    "model_groups": .list(identifier), "credits_allocated": .int(0...1_000_000_000_000),
                    "budget_mode": JSONSchema.oneOfText(budgetModes).optional,
                    "tokens_per_credit": JSONSchema.int(1...1_000_000_000).optional,
                    "credits_per_dollar": JSONSchema.number(0.000001...1_000_000).optional,
                    "metadata": JSONSchema.anyObject.optional,
                ]
            ),
            "ModelGroupsBody": .record(nil, ["model_groups": .list(identifier)]),
            "KeyRotationRequest": .record(nil, ["grace_seconds": JSONSchema.int(0...86_400, "default 0").optional]),
            "TeamLimitsRequest": .record(
                "Each field absent is kept, `null` clears it (no limit), a value sets it.",
                [
                    "max_queued_jobs": JSONSchema.integer(nullable: true, maximum: (10_000_000, exclusive: false), minimum: (1, exclusive: false))
                        .optional,
                    "submits_per_second": JSONSchema.number(nullable: true, maximum: (100_000, exclusive: false), minimum: (0.001, exclusive: false))
                        .optional,
                    "max_concurrent_jobs": JSONSchema.integer(nullable: true, maximum: (100_000, exclusive: false), minimum: (1, exclusive: false))
                        .optional,
                    "retention_days": JSONSchema.integer(nullable: true, maximum: (3650, exclusive: false), minimum: (1, exclusive: false)).optional,
                    "low_balance_threshold": JSONSchema.integer(
                        nullable: true,
                        maximum: (1_000_000_000_000_000, exclusive: false),
                        minimum: (0, exclusive: false)
                    ).optional,
                ]
            ),
            "ModelInput": .record(
                nil,
                [
                    "model_name": .text("1-200 characters, not blank", minLength: 1, maxLength: 200, pattern: "\\S"),
                    "provider": identifier, "priority": .int(0...1000, "lower first"),
                    "input_price_per_million": JSONSchema.number(0...1_000_000).optional,
                    "output_price_per_million": JSONSchema.number(0...1_000_000).optional,
                    "context_tokens": JSONSchema.int(256...10_000_000).optional,
                ]
            ),
            "ModelGroupCreate": .record(
                nil,
                [
                    "group_name": identifier, "display_name": JSONSchema.text(maxLength: 200).optional,
                    "description": JSONSchema.text(maxLength: 2000).optional, "models": .list(.ref("ModelInput"), minItems: 1, maxItems: 50),
                ]
            ),
            "ModelsBody": .one(of: [
                .record(nil, ["models": .list(.ref("ModelInput"), minItems: 1, maxItems: 50)]),
                .list(.ref("ModelInput"), minItems: 1, maxItems: 50),
            ]),
            "ProviderCreate": .record(
                nil,
                [
                    "name": identifier, "kind": .oneOfText(["openai", "anthropic"]),
                    "base_url": .text(
                        "http(s), no query, fragment or user; at most 500 characters",
                        maxLength: 500,
                        pattern: "^[hH][tT][tT][pP][sS]?://[!-~]+$"
                    ),
                    "api_key": .text("printable ASCII without spaces", minLength: 1, maxLength: 1000, pattern: "^[!-~]+$"),
                    "rpm": JSONSchema.int(1...10_000_000).optional, "tpm": JSONSchema.int(1...1_000_000_000).optional,
                    "timeout_seconds": JSONSchema.int(1...3600, "default 120").optional,
                ]
            ),
            "ProviderUpdate": .record(
                "Every field optional; `rpm`/`tpm` null removes the limit.",
                [
                    "kind": JSONSchema.oneOfText(["openai", "anthropic"]).optional,
                    "base_url": JSONSchema.text(maxLength: 500, pattern: "^[hH][tT][tT][pP][sS]?://[!-~]+$").optional,
                    "api_key": JSONSchema.text(minLength: 1, maxLength: 1000, pattern: "^[!-~]+$").optional,
                    "rpm": JSONSchema.integer(nullable: true, maximum: (10_000_000, exclusive: false), minimum: (1, exclusive: false)).optional,
                    "tpm": JSONSchema.integer(nullable: true, maximum: (1_000_000_000, exclusive: false), minimum: (1, exclusive: false)).optional,
                    "timeout_seconds": JSONSchema.int(1...3600).optional,
                ]
            ),
            "CreditAdd": .record(
                nil,
                ["credits": .int(1...1_000_000_000_000), "reason": JSONSchema.text(maxLength: 500).optional]
            ),
            "CreditAdjust": .record(
                "A signed change, never zero; never below a zero balance (409).",
                [
                    "credits": .integer(
                        description: "non-zero",
                        maximum: (1_000_000_000_000, exclusive: false),
                        minimum: (-1_000_000_000_000, exclusive: false)
                    ),
                    "reason": .text("1-500 characters, not blank", minLength: 1, maxLength: 500, pattern: "\\S"),
                ]
            ),
            "BudgetModeRequest": .record(
                nil,
                [
                    "budget_mode": .oneOfText(budgetModes), "tokens_per_credit": JSONSchema.int(1...1_000_000_000).optional,
                    "credits_per_dollar": JSONSchema.number(0.000001...1_000_000).optional,
                ]
            ),
            "ConcurrencyRequest": .record(nil, ["concurrency": .int(1...10_000, "the worker's slots")]),
            "WebhookRequest": .record(
                nil,
                [
                    "url": .text("https (http only to loopback outside production); private addresses refused in production"),
                    "events": .array(minItems: 1, maxItems: 5, uniqueItems: true, items: .oneOfText(webhookEvents)),
                ]
            ),
        ]
    }
}
