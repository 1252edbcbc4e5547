import Foundation
import HTTPTypes
import OpenAPIKit

/// Jobs (team side and admin side), batches, estimates, documents; the queue and workers.
extension OperationCatalogue {
    static var jobs: [OperationSpec] { teamJobs + adminJobs }

    /// A submit's refusals after its body (API.md's order): 403 foreign team / model group,
    /// idempotency, 402 credits; and an outcome the API cannot know.
    static let submitErrors = [
        ErrorAnswer(403, Sentences.keyNotForTeam, Sentences.noGroupAccess),
        ErrorAnswer(409, Sentences.idempotencyReused),
        ErrorAnswer(402, Sentences.insufficientCredits),
        ErrorAnswer(429, Sentences.rateLimited),
        ErrorAnswer(503, Sentences.outcomeUnknown),
    ]

    static let jobNotFound = ErrorAnswer(404, Sentences.jobNotFound)

    static var teamJobs: [OperationSpec] {
        let created = #"{"job_id": "\#(Examples.jobID)", "status": "queued", "created_at": "2026-11-26T18:47:10.266Z", "credits_reserved": 1}"#
        return [
            OperationSpec(
                method: .post,
                path: "/api/jobs/create",
                summary: "Submit a job",
                description: """
                    `model` with `messages` (chat) or `document` (+ `instructions`) queues the job: 202. Without `model` the job \
                    is a `pending` container for the step-by-step flow: 200. A `multipart/form-data` submit carries the job's \
                    JSON in its `job` part and a document file (PDF, DOCX, ODT, HTML, Markdown, text) in its `file` part. \
                    A 202 carries `Location: /api/jobs/<id>` and `Retry-After: 1`.
                    """,
                tag: .jobs,
                auth: .team,
                headers: [.idempotencyKey],
                body: RequestBodySpec(
                    schema: .ref("SubmitRequest"),
                    example: Examples.submit,
                    alternatives: [
                        (
                            .multipartForm,
                            .record(
                                "The job's fields as JSON, and the file.",
                                [
                                    "job": .text("a submit body as JSON (with `model`, without `messages` or `document`)"),
                                    "file": .string(contentMediaType: .other("application/octet-stream")),
                                ]
                            )
                        )
                    ]
                ),
                answers: [
                    Answer(
                        status: 202,
                        description: "Queued",
                        schema: .ref("JobCreated"),
                        example: created,
                        headers: ["Location": "/api/jobs/<id>", "Retry-After": "1"]
                    ),
                    Answer(
                        status: 200,
                        description: "A `pending` container (no `model`)",
                        schema: .ref("JobCreated"),
                        example: #"{"job_id": "\#(Examples.jobID)", "status": "pending", "created_at": "2026-11-26T18:47:10.266Z"}"#
                    ),
                ],
                errors: submitErrors + [ErrorAnswer(415, "Unsupported document type")]
            ),
            OperationSpec(
                method: .post,
                path: "/api/jobs/batch",
                summary: "Submit up to 1000 jobs at once",
                description: """
                    Each item is checked as a single submit and stands alone, all written in one transaction; \
                    `all_or_nothing: true` refuses the whole batch (402/422) when any item would fail. `Idempotency-Key` covers \
                    the batch.
                    """,
                tag: .jobs,
                auth: .team,
                headers: [.idempotencyKey],
                body: RequestBodySpec(
                    schema: .ref("BatchRequest"),
                    example: #"{"jobs": [\#(Examples.submit), {"team_id": "acme-research", "job_type": "container"}]}"#
                ),
                answers: [
                    .ok(
                        "BatchAnswer",
                        """
                        {"jobs": [{"index": 0, "job_id": "\(Examples.jobID)", "status": "queued", "credits_reserved": 1},
                                  {"index": 1, "error": {"status": 422, "detail": "Field 'job_type' must be 1-100 characters"}}]}
                        """,
                        status: 202
                    )
                ],
                errors: submitErrors + [
                    ErrorAnswer(415, "A batch is a JSON body; submit a document file alone, as multipart/form-data to POST /api/jobs/create"),
                    ErrorAnswer(503, "Too many batches are being submitted; retry after 1 second"),
                ]
            ),
            OperationSpec(
                method: .post,
                path: "/api/jobs/estimate",
                summary: "What a submit would reserve; nothing is stored",
                tag: .jobs,
                auth: .team,
                body: RequestBodySpec(schema: .ref("SubmitRequest"), example: Examples.submit),
                answers: [
                    .ok("Estimate", #"{"credits_reserved": 1, "calls_planned": 1, "prompt_tokens_estimate": 42, "max_cost_usd": 0.000126}"#)
                ],
                errors: [
                    ErrorAnswer(403, Sentences.keyNotForTeam, Sentences.noGroupAccess),
                    ErrorAnswer(415, "An estimate takes a submit body as JSON, not multipart/form-data"),
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/jobs/{job_id}",
                summary: "A job; `wait` long-polls until it is terminal",
                tag: .jobs,
                auth: .team,
                query: [.wait(default: 0, max: 60)],
                answers: [.ok("Job", Examples.job)],
                errors: [
                    jobNotFound, ErrorAnswer(403, Sentences.foreignJobs),
                    ErrorAnswer(429, "Too many long polls of this team are waiting; retry after 1 second"),
                ]
            ),
            OperationSpec(
                method: .post,
                path: "/api/jobs/{job_id}/cancel",
                summary: "Cancel a job (`cancelling` while a call is in flight)",
                tag: .jobs,
                auth: .team,
                answers: [.ok("Job", Examples.queuedJob.replacingOccurrences(of: #""status": "queued""#, with: #""status": "cancelled""#))],
                errors: [jobNotFound, ErrorAnswer(403, Sentences.foreignJobs), ErrorAnswer(409, "Job is already <status>")]
            ),
            OperationSpec(
                method: .delete,
                path: "/api/jobs/{job_id}",
                summary: "Erase a finished job's contents",
                description: "Its request, document, result and call contents are erased; ids, status, usage, costs and ledger rows stay.",
                tag: .jobs,
                auth: .team,
                answers: [.ok("Job", Examples.job)],
                errors: [
                    jobNotFound, ErrorAnswer(403, Sentences.foreignJobs),
                    ErrorAnswer(409, "Job is <status>; only a finished job's contents can be erased"),
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/jobs/{job_id}/calls",
                summary: "The job's upstream calls",
                tag: .jobs,
                auth: .team,
                answers: [.ok("CallList", #"{"calls": [\#(Examples.call)]}"#)],
                errors: [jobNotFound, ErrorAnswer(403, Sentences.foreignJobs)]
            ),
            OperationSpec(
                method: .get,
                path: "/api/jobs/{job_id}/document",
                summary: "An uploaded document's extracted text, page by page",
                tag: .jobs,
                auth: .team,
                answers: [
                    .ok(
                        "Document",
                        """
                        {"job_id": "\(Examples.jobID)", "kind": "pdf", "media_type": "application/pdf", "file_name": "report.pdf",
                         "byte_size": 48213, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                         "page_count": 1, "extraction_ms": 84, "extracted_at": "2026-11-26T18:47:10.900Z",
                         "pages": [{"page": 1, "text": "Quarterly report…"}]}
                        """
                    )
                ],
                errors: [
                    ErrorAnswer(
                        404,
                        Sentences.jobNotFound,
                        "Job has no uploaded document",
                        "Document text was not extracted",
                        "Job contents were erased"
                    ),
                    ErrorAnswer(403, Sentences.foreignJobs), ErrorAnswer(409, "Document text is not extracted yet"),
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/teams/{team_id}/jobs",
                summary: "The team's jobs, newest first",
                tag: .jobs,
                auth: .teamOrAdmin,
                query: [.status, .limit, .cursor],
                answers: [.ok("JobList", #"{"jobs": [\#(Examples.job)], "next_cursor": null}"#)],
                // the admin key on a team that does not exist
                errors: [ErrorAnswer(403, Sentences.foreignJobs), ErrorAnswer(404, Sentences.notFound("Team"))]
            ),
        ]
    }

    static var adminJobs: [OperationSpec] {
        let worker = """
            {"worker_id": "worker-1a2b", "host": "node-3", "pid": 4242, "concurrency": 32, "in_flight": 5,
             "started_at": "2026-11-26T08:00:00.000Z", "last_seen": "2026-11-26T18:47:10.000Z", "draining": false}
            """
        return [
            OperationSpec(
                method: .get,
                path: "/api/admin/jobs",
                summary: "Jobs of any team, newest first",
                tag: .adminJobs,
                auth: .admin,
                query: [
                    QueryParameter(name: "team_id", description: "Only this team's jobs.", schema: .string), .status, .limit, .cursor,
                ],
                answers: [.ok("JobList", #"{"jobs": [\#(Examples.job)], "next_cursor": null}"#)]
            ),
            OperationSpec(
                method: .get,
                path: "/api/admin/jobs/{job_id}",
                summary: "One job with its calls",
                tag: .adminJobs,
                auth: .admin,
                answers: [.ok("AdminJob", String(Examples.job.dropLast()) + #", "calls": [\#(Examples.call)]}"#)],
                errors: [jobNotFound]
            ),
            OperationSpec(
                method: .post,
                path: "/api/admin/jobs/{job_id}/cancel",
                summary: "Cancel any job",
                tag: .adminJobs,
                auth: .admin,
                answers: [.ok("Job", Examples.queuedJob.replacingOccurrences(of: #""status": "queued""#, with: #""status": "cancelled""#))],
                errors: [jobNotFound, ErrorAnswer(409, "Job is already <status>")]
            ),
            OperationSpec(
                method: .post,
                path: "/api/admin/jobs/{job_id}/retry",
                summary: "Retry a failed job (a new reservation)",
                tag: .adminJobs,
                auth: .admin,
                answers: [.ok("Job", Examples.queuedJob)],
                errors: [
                    jobNotFound, ErrorAnswer(402, Sentences.insufficientCredits),
                    ErrorAnswer(409, "Only failed jobs can be retried; this job is <status>"),
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/admin/queue",
                summary: "Per team: queued, scheduled for retry, in progress, oldest queued age; totals",
                tag: .adminJobs,
                auth: .admin,
                answers: [
                    .ok(
                        "QueueStats",
                        """
                        {"teams": [{"team_id": "acme-research", "queued": 12, "scheduled": 1, "in_progress": 5,
                                    "oldest_queued_age_seconds": 3.5}],
                         "totals": {"queued": 12, "scheduled": 1, "in_progress": 5, "oldest_queued_age_seconds": 3.5,
                                    "live_workers": 2, "worker_capacity": 64, "workers_in_flight": 5},
                         "paused": false, "paused_since": null}
                        """
                    )
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/admin/workers",
                summary: "Live workers, from their heartbeats",
                tag: .adminJobs,
                auth: .admin,
                answers: [.ok("WorkerList", #"{"workers": [\#(worker)]}"#)]
            ),
            OperationSpec(
                method: .post,
                path: "/api/admin/workers/{worker_id}/drain",
                summary: "The worker stops claiming, finishes what it holds, and exits",
                tag: .adminJobs,
                auth: .admin,
                answers: [.ok("WorkerDrain", #"{"worker_id": "worker-1a2b", "draining": true}"#)],
                errors: [ErrorAnswer(404, "Worker '<id>' not found")]
            ),
        ]
    }
}
