import Foundation
import HTTPTypes
import OpenAPIKit

/// The step-by-step flow, single calls, and the streams (API.md, "Step-by-step jobs and single
/// calls", "Streaming and events"); fleet-wide runtime control.
extension OperationCatalogue {
    static var steps: [OperationSpec] { stepByStep + streaming }

    static let stepJobErrors = [ErrorAnswer(404, Sentences.jobNotFound), ErrorAnswer(403, Sentences.foreignJob)]

    static let callBody = RequestBodySpec(
        schema: .ref("CallRequest"),
        example: """
            {"model": "gpt-fast", "messages": [{"role": "user", "content": "Is this review positive? 'Loved it.'"}],
             "max_tokens": 5, "purpose": "classify", "call_metadata": {"step": "sentiment"}}
            """
    )

    static let createAndCallBody = RequestBodySpec(
        description: "A submit body with `model` and `messages` (no `document`).",
        schema: .ref("SubmitRequest"),
        example: """
            {"team_id": "acme-research", "job_type": "classify", "model": "gpt-fast",
             "messages": [{"role": "user", "content": "Is this review positive? 'Loved it.'"}], "max_tokens": 5}
            """
    )

    static var stepByStep: [OperationSpec] {
        let singleCall = """
            {"job_id": "\(Examples.jobID)", "status": "completed", "completed_at": "2026-11-26T18:47:11.920Z",
             "job_metadata": {}, "costs": \(Examples.costs), "response": {"content": "positive", "finish_reason": "stop"},
             "metadata": \(Examples.callMetadata)}
            """
        return [
            OperationSpec(
                method: .post,
                path: "/api/jobs/{job_id}/llm-call",
                summary: "Run one chat call on a step-by-step job and wait for it",
                description: """
                    The call is queued and run by a worker like any job; the API waits for its result. The job moves \
                    `pending` → `in_progress` at its first call. 202 when `wait` ran out (poll the call).
                    """,
                tag: .stepByStep,
                auth: .team,
                query: [.wait(default: 120, max: 600)],
                body: callBody,
                answers: [
                    .ok("StepCall", Examples.stepCall),
                    Answer(
                        status: 202,
                        description: "Still queued or running when `wait` ran out",
                        schema: .ref("StepCall"),
                        example: """
                            {"call_id": "\(Examples.callID)", "job_id": "\(Examples.jobID)", "status": "queued", "credits_reserved": 1,
                             "created_at": "2026-11-26T18:47:10.266Z"}
                            """
                    ),
                ],
                errors: stepJobErrors + [
                    ErrorAnswer(403, Sentences.noGroupAccess),
                    ErrorAnswer(
                        409,
                        "Job is already <status>",
                        "Job was submitted with its work; llm-call and complete apply to jobs created without a model",
                        "Job has reached its limit of <n> calls"
                    ),
                    ErrorAnswer(402, Sentences.insufficientCredits), ErrorAnswer(502, "LLM call failed: <category>"),
                    ErrorAnswer(429, Sentences.rateLimited),
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/jobs/{job_id}/calls/{call_id}",
                summary: "A call of a step-by-step job, as `llm-call` answers it",
                tag: .stepByStep,
                auth: .team,
                query: [.wait(default: 0, max: 600)],
                answers: [
                    .ok("StepCall", Examples.stepCall),
                    Answer(status: 202, description: "Still queued or running", schema: .ref("StepCall"), example: nil),
                ],
                errors: [
                    ErrorAnswer(404, Sentences.jobNotFound, "Call not found"), ErrorAnswer(403, Sentences.foreignJob),
                    ErrorAnswer(502, "LLM call failed: <category>"),
                ]
            ),
            OperationSpec(
                method: .post,
                path: "/api/jobs/{job_id}/complete",
                summary: "End a step-by-step job and settle it exactly once",
                description: """
                    Charges per the budget mode and releases the rest. A second complete answers the same and charges nothing.
                    """,
                tag: .stepByStep,
                auth: .team,
                body: RequestBodySpec(schema: .ref("CompleteRequest"), example: #"{"status": "completed", "metadata": {"outcome": "ok"}}"#),
                answers: [
                    .ok(
                        "Completion",
                        """
                        {"job_id": "\(Examples.jobID)", "status": "completed", "completed_at": "2026-11-26T18:47:12.000Z",
                         "metadata": {"outcome": "ok"}, "costs": \(Examples.costs), "calls": [\(Examples.stepCall)]}
                        """
                    )
                ],
                errors: stepJobErrors + [
                    ErrorAnswer(
                        409,
                        "Job has calls in flight",
                        "Job was submitted with its work; llm-call and complete apply to jobs created without a model"
                    )
                ]
            ),
            OperationSpec(
                method: .patch,
                path: "/api/jobs/{job_id}/metadata",
                summary: "Merge into the job's metadata (shallow)",
                tag: .stepByStep,
                auth: .team,
                body: RequestBodySpec(schema: .ref("MetadataPatch"), example: #"{"metadata": {"reviewed": true}}"#),
                answers: [
                    .ok(
                        "MetadataUpdate",
                        #"{"job_id": "\#(Examples.jobID)", "metadata": {"ticket": 4711, "reviewed": true}, "updated_at": "2026-11-26T18:50:00.000Z"}"#
                    )
                ],
                errors: stepJobErrors
            ),
            OperationSpec(
                method: .get,
                path: "/api/jobs/{job_id}/costs",
                summary: "The job's costs with a per-call breakdown",
                tag: .stepByStep,
                auth: .team,
                answers: [
                    .ok(
                        "JobCosts",
                        """
                        {"job_id": "\(Examples.jobID)", "costs": {"total_calls": 1, "successful_calls": 1, "failed_calls": 0,
                         "total_tokens": 1280, "total_cost_usd": 0.000228, "avg_latency_ms": 1620, "credits_charged": 1,
                         "credits_remaining": 984, "breakdown": [{"call_id": "\(Examples.callID)", "status": "completed",
                         "model": "gpt-fast", "model_used": "gpt-4o-mini", "prompt_tokens": 1200, "completion_tokens": 80,
                         "total_tokens": 1280, "cost_usd": 0.000228, "latency_ms": 1620, "credits": 1, "error": null}]}}
                        """
                    )
                ],
                errors: stepJobErrors
            ),
            OperationSpec(
                method: .post,
                path: "/api/jobs/create-and-call",
                summary: "Submit one chat call and wait for its answer",
                description: "200 when done (a failed call is a 200 with `status: failed` and `error`); 202 with the job when `wait` ran out.",
                tag: .stepByStep,
                auth: .team,
                query: [.wait(default: 120, max: 600)],
                headers: [.idempotencyKey],
                body: createAndCallBody,
                answers: [
                    .ok("SingleCall", singleCall),
                    Answer(status: 202, description: "The job, still running: poll it", schema: .ref("Job"), example: Examples.queuedJob),
                ],
                errors: submitErrors
            ),
        ]
    }

    static var streaming: [OperationSpec] {
        let stream = Answer(
            status: 200,
            description: """
                Each upstream delta as `data: {"delta": "...", "index": n}` with an `id:`; then `event: done` with the result, \
                usage and costs, or `event: error` with `{"detail": ...}`. Keep-alive comments every 15 s.
                """,
            schema: .serverSentEvent,
            example:
                "id: 1\ndata: {\"delta\": \"posi\", \"index\": 0}\n\nid: 2\ndata: {\"delta\": \"tive\", \"index\": 1}\n\nevent: done\ndata: {...}\n\n",
            mediaType: .other("text/event-stream")
        )
        let streamsFull = ErrorAnswer(429, "Too many open streams for this team (limit <n>)", Sentences.rateLimited)
        return [
            OperationSpec(
                method: .post,
                path: "/api/jobs/create-and-call-stream",
                summary: "Submit one chat call and stream its answer",
                description: "A client that disconnects stops nothing; reconnecting with `Last-Event-ID` resumes.",
                tag: .streaming,
                auth: .team,
                headers: [.idempotencyKey, .lastEventID],
                body: createAndCallBody,
                answers: [stream],
                errors: submitErrors + [streamsFull]
            ),
            OperationSpec(
                method: .post,
                path: "/api/jobs/{job_id}/llm-call-stream",
                summary: "Run one chat call on a step-by-step job and stream its answer",
                tag: .streaming,
                auth: .team,
                headers: [.lastEventID],
                body: callBody,
                answers: [stream],
                errors: stepJobErrors + [
                    ErrorAnswer(403, Sentences.noGroupAccess), ErrorAnswer(409, "Job is already <status>"),
                    ErrorAnswer(402, Sentences.insufficientCredits), streamsFull,
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/jobs/{job_id}/calls/{call_id}/stream",
                summary: "A step-by-step call's stream (resumable)",
                tag: .streaming,
                auth: .team,
                headers: [.lastEventID],
                answers: [stream],
                errors: [ErrorAnswer(404, Sentences.jobNotFound, "Call not found"), ErrorAnswer(403, Sentences.foreignJob), streamsFull]
            ),
            OperationSpec(
                method: .get,
                path: "/api/jobs/{job_id}/stream",
                summary: "A single call's stream (resumable)",
                tag: .streaming,
                auth: .team,
                headers: [.lastEventID],
                answers: [stream],
                errors: stepJobErrors + [
                    ErrorAnswer(409, "Job was created without work; read its calls' streams at /api/jobs/{job_id}/calls/{call_id}/stream"),
                    streamsFull,
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/jobs/{job_id}/events",
                summary: "The job's status changes as server-sent events",
                description: "`event: status` snapshots (status, progress, attempts), ending with the terminal job; `Last-Event-ID` resumes.",
                tag: .streaming,
                auth: .team,
                headers: [.lastEventID],
                answers: [
                    Answer(
                        status: 200,
                        description: "`event: status` with `{job_id, status, progress, attempts}`; the last carries the whole job",
                        schema: .serverSentEvent,
                        example: "id: queued.0.1.0\nevent: status\ndata: {\"job_id\": \"\(Examples.jobID)\", \"status\": \"queued\"}\n\n",
                        mediaType: .other("text/event-stream")
                    )
                ],
                errors: stepJobErrors + [streamsFull]
            ),
        ]
    }

    /// Fleet-wide runtime control (API.md, "Operations").
    static var fleet: [OperationSpec] {
        let pause = #"{"paused": true, "since": "2026-11-26T18:47:10.266Z", "changed": true}"#
        return [
            OperationSpec(
                method: .post,
                path: "/api/admin/queue/pause",
                summary: "Stop all claiming, fleet-wide (jobs stay queued)",
                tag: .adminJobs,
                auth: .admin,
                answers: [.ok("QueuePause", pause)]
            ),
            OperationSpec(
                method: .post,
                path: "/api/admin/queue/resume",
                summary: "Restart claiming, fleet-wide",
                tag: .adminJobs,
                auth: .admin,
                answers: [.ok("QueuePause", pause.replacingOccurrences(of: #""paused": true"#, with: #""paused": false"#))]
            ),
            OperationSpec(
                method: .put,
                path: "/api/admin/workers/{worker_id}/concurrency",
                summary: "Change a worker's slots without a restart",
                description: "Announced through Redis and applied by the worker's claimer; its next heartbeat reports it.",
                tag: .adminJobs,
                auth: .admin,
                body: RequestBodySpec(schema: .ref("ConcurrencyRequest"), example: #"{"concurrency": 16}"#),
                answers: [
                    .ok(
                        "Worker",
                        """
                        {"worker_id": "worker-1a2b", "host": "node-3", "pid": 4242, "concurrency": 16, "in_flight": 5,
                         "started_at": "2026-11-26T08:00:00.000Z", "last_seen": "2026-11-26T18:47:10.000Z", "draining": false}
                        """
                    )
                ],
                errors: [ErrorAnswer(404, "Worker '<id>' not found"), ErrorAnswer(409, "Worker '<id>' is draining")]
            ),
        ]
    }
}
