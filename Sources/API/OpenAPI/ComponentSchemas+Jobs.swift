import OpenAPIKit

/// Jobs, their calls, batches, estimates and the step-by-step flow's answers.
extension ComponentSchemas {
    /// A job's fields as `GET /api/jobs/{job_id}` answers them (``JobResponse``): the terminal
    /// fields (`result`, `usage`, `cost_usd`, `error`) appear once the job is terminal.
    static var jobProperties: OrderedDictionary<String, JSONSchema> {
        [
            "job_id": .uuid, "team_id": .text(), "job_type": .text(), "user_id": .nullableText(),
            "status": .oneOfText(jobStatuses), "priority": .integer, "created_at": .timestamp, "started_at": .nullableTimestamp,
            "completed_at": .nullableTimestamp, "expires_at": .timestamp,
            "attempts": .count("deliveries that reached the upstream"), "model": .nullableText("the model group"),
            "metadata": .anyObject, "credits_reserved": .count(), "credits_charged": .count(),
            "progress": .record(nil, ["calls_done": .count(), "calls_planned": .count()]),
            "result": JSONSchema.anyValue("`{content, finish_reason, tool_calls?}` once completed; null otherwise").optional,
            "usage": JSONSchema.nullableRef("TokenUsage").optional,
            "cost_usd": JSONSchema.nullableMoney.optional,
            "error": JSONSchema.nullableRef("JobError").optional,
            "content_erased_at": JSONSchema.timestamp.optional,
        ]
    }

    static var jobs: OrderedDictionary<String, JSONSchema> {
        var adminJob = jobProperties
        adminJob["calls"] = .list(.ref("Call"))
        return [
            "Job": .record("A job as `GET /api/jobs/{job_id}` answers it.", jobProperties),
            "AdminJob": .record("A job with its calls (the upstream's own error text, redacted).", adminJob),
            "JobList": .page("jobs", of: "Job"),
            "JobError": .record(
                "`code`: upstream_error, invalid_request, context_too_long, poison, expired, cancelled, partial, invalid_output.",
                ["code": .text(), "message": .text()]
            ),
            "TokenUsage": .record(
                "total = prompt + completion.",
                ["prompt_tokens": .count(), "completion_tokens": .count(), "total_tokens": .count()]
            ),
            "JobCreated": .record(
                "`credits_reserved` is left out for a job created without work (`pending`).",
                ["job_id": .uuid, "status": .oneOfText(jobStatuses), "created_at": .timestamp, "credits_reserved": JSONSchema.count().optional]
            ),
            "Call": .record(
                "One upstream call of a job.",
                [
                    "call_id": .uuid, "step": .text(), "step_index": .integer, "model": .text(), "provider": .text(),
                    "attempt": .integer, "status_code": JSONSchema.nullableInteger.optional,
                    "error_class": JSONSchema.nullableText().optional, "error": JSONSchema.nullableText().optional,
                    "upstream_request_id": JSONSchema.nullableText().optional, "prompt_tokens": .count(),
                    "completion_tokens": .count(), "total_tokens": .count(), "cost_usd": .money, "latency_ms": .integer,
                    "billed": .boolean, "created_at": .timestamp,
                ]
            ),
            "CallList": .record(nil, ["calls": .list(.ref("Call"))]),
            "BatchAnswer": .record(
                "One entry per job, in order: created, or refused with the status and sentence a single submit would have answered.",
                [
                    "jobs": .list(
                        .any(of: [
                            .record(
                                "created",
                                [
                                    "index": .integer, "job_id": .uuid, "status": .oneOfText(jobStatuses),
                                    "credits_reserved": JSONSchema.count().optional,
                                ]
                            ),
                            .record("refused", ["index": .integer, "error": .record(nil, ["status": .integer, "detail": .text()])]),
                        ])
                    )
                ]
            ),
            "Estimate": .record(
                "What a submit of this body would reserve; nothing is stored.",
                [
                    "credits_reserved": .count(), "calls_planned": .count(), "prompt_tokens_estimate": .count(),
                    "max_cost_usd": .money,
                ]
            ),
            "Document": .record(
                "An uploaded document's extracted text, page by page.",
                [
                    "job_id": .uuid, "kind": .oneOfText(["pdf", "docx", "odt", "html", "markdown", "text"]), "media_type": .text(),
                    "file_name": JSONSchema.nullableText().optional, "byte_size": .count(), "sha256": .text(), "page_count": .count(),
                    "extraction_ms": .count(), "extracted_at": .timestamp,
                    "pages": .list(.record(nil, ["page": .integer, "text": .text()])),
                ]
            ),
        ]
    }

    static var steps: OrderedDictionary<String, JSONSchema> {
        [
            "CallMetadata": .record(
                nil,
                [
                    "tokens_used": .count(), "prompt_tokens": .count(), "completion_tokens": .count(), "latency_ms": .count(),
                    "model": .nullableText("the model group"), "model_used": .nullableText(),
                ]
            ),
            "CallCosts": .record(
                nil,
                ["cost_usd": .money, "credits_reserved": .count(), "credits_due": .count(), "credits_charged": .count()]
            ),
            "StepCall": .record(
                "A call of a step-by-step job; once completed, `response`, `metadata`, `cost_usd` and `costs`; once ended otherwise, `error`.",
                [
                    "call_id": .uuid, "job_id": .uuid, "status": .oneOfText(jobStatuses), "purpose": JSONSchema.text().optional,
                    "credits_reserved": .count(), "created_at": .timestamp, "completed_at": JSONSchema.nullableTimestamp.optional,
                    "response": JSONSchema.anyValue("`{content, finish_reason, tool_calls?}`").optional,
                    "metadata": JSONSchema.ref("CallMetadata").optional, "cost_usd": JSONSchema.nullableMoney.optional,
                    "costs": JSONSchema.ref("CallCosts").optional, "error": JSONSchema.ref("JobError").optional,
                ]
            ),
            "Costs": .record(
                "A job's calls and money; `breakdown` (one line per call) only on `GET /api/jobs/{job_id}/costs`.",
                [
                    "total_calls": .count(), "successful_calls": .count(), "failed_calls": .count(), "total_tokens": .count(),
                    "total_cost_usd": .money, "avg_latency_ms": .count(), "credits_charged": .count(), "credits_remaining": .count(),
                    "breakdown": JSONSchema.list(
                        .record(
                            nil,
                            [
                                "call_id": .uuid, "status": .text(), "model": .nullableText(), "model_used": .nullableText(),
                                "prompt_tokens": .count(), "completion_tokens": .count(), "total_tokens": .count(), "cost_usd": .money,
                                "latency_ms": .count(), "credits": .count(), "error": .nullableText(),
                            ]
                        )
                    ).optional,
                ]
            ),
            "JobCosts": .record(nil, ["job_id": .uuid, "costs": .ref("Costs")]),
            "Completion": .record(
                "The step-by-step job, settled once.",
                [
                    "job_id": .uuid, "status": .oneOfText(jobStatuses), "completed_at": .nullableTimestamp, "metadata": .anyObject,
                    "costs": .ref("Costs"), "calls": .list(.ref("StepCall")), "error": JSONSchema.ref("JobError").optional,
                ]
            ),
            "MetadataUpdate": .record(nil, ["job_id": .uuid, "metadata": .anyObject, "updated_at": .timestamp]),
            "SingleCall": .record(
                "A single call's job once ended: `response` and `metadata` when completed, `error` otherwise.",
                [
                    "job_id": .uuid, "status": .oneOfText(jobStatuses), "completed_at": .nullableTimestamp, "job_metadata": .anyObject,
                    "costs": .ref("Costs"), "response": JSONSchema.anyValue("`{content, finish_reason, tool_calls?}`").optional,
                    "metadata": JSONSchema.ref("CallMetadata").optional, "error": JSONSchema.ref("JobError").optional,
                ]
            ),
        ]
    }
}
