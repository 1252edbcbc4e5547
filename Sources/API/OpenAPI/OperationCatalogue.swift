import HTTPTypes
import OpenAPIKit

/// Every operation the document can describe, keyed by method + path template. The document
/// lists only those the route table actually registered; a registered route missing here is
/// reported by ``OpenAPIDocumentBuilder`` (and fails `OpenAPIDocumentTests`).
enum OperationCatalogue {
    static let all: [OperationSpec] = operations + tenancy + money + jobs + steps + fleet

    static let byKey: [OperationKey: OperationSpec] = Dictionary(all.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })

    static var operations: [OperationSpec] {
        [
            OperationSpec(
                method: .get,
                path: "/health",
                summary: "The process is up",
                tag: .operations,
                auth: .none,
                answers: [.ok("Health", #"{"status": "ok"}"#)]
            ),
            OperationSpec(
                method: .get,
                path: "/ready",
                summary: "PostgreSQL and Redis both answer",
                description: "A load balancer's readiness probe. The 503 names the store that is down and no host, user or password.",
                tag: .operations,
                auth: .none,
                answers: [
                    .ok("Health", #"{"status": "ready", "postgres": "ok", "redis": "ok"}"#),
                    .ok(
                        "Health",
                        #"{"status": "unavailable", "postgres": "unavailable", "redis": "ok", "detail": "PostgreSQL is not reachable"}"#,
                        status: 503,
                        description: "Not ready: the store that is down"
                    ),
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/metrics",
                summary: "Prometheus metrics",
                description: "The Prometheus text format; label values never hold a key, a job id or content.",
                tag: .operations,
                auth: .none,
                answers: [
                    Answer(
                        status: 200,
                        description: "Prometheus text exposition format",
                        schema: .string,
                        example:
                            "# TYPE saas_http_requests_total counter\nsaas_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 3\n",
                        mediaType: .txt
                    )
                ],
                errors: [ErrorAnswer(404, "Metrics are disabled (METRICS_ENABLED=false)")]
            ),
            OperationSpec(
                method: .get,
                path: "/openapi.json",
                summary: "This document",
                description: "OpenAPI 3.1, built once at start from the route table and the operation catalogue.",
                tag: .operations,
                auth: .none,
                answers: [Answer(status: 200, description: "The OpenAPI document", schema: .object, example: nil)]
            ),
        ]
    }
}

// MARK: - Shared pieces

extension Answer {
    /// A 200 (or `status`) JSON answer with a component's schema.
    static func ok(_ component: String, _ example: String?, status: Int = 200, description: String? = nil) -> Answer {
        Answer(status: status, description: description ?? component, schema: .ref(component), example: example)
    }
}

extension QueryParameter {
    static let limit = QueryParameter(
        name: "limit",
        description: "Page size: default 50, larger values are clamped to 100.",
        schema: .integer(maximum: (Int.max, exclusive: false), minimum: (1, exclusive: false))
    )
    static let cursor = QueryParameter(name: "cursor", description: "The previous page's `next_cursor`.", schema: .string)
    static let status = QueryParameter(
        name: "status",
        description: "Only jobs with this status.",
        schema: .oneOfText(ComponentSchemas.jobStatuses)
    )
    static let period = QueryParameter(
        name: "period",
        description: "A UTC month `YYYY-MM` or day `YYYY-MM-DD`.",
        schema: .string(pattern: "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])(-(0[1-9]|1[0-9]|2[0-8]))?$"),
        required: true
    )

    /// `wait`: seconds to wait for the end (clamped to `max`).
    static func wait(default value: Int, max: Int) -> QueryParameter {
        QueryParameter(
            name: "wait",
            description: "Seconds to wait for the job or call to end (default \(value), larger values are clamped to \(max)).",
            schema: .number(minimum: (0, exclusive: false))
        )
    }
}

extension HeaderParameter {
    static let idempotencyKey = HeaderParameter(
        name: "Idempotency-Key",
        description: "Scoped to the team, kept at least 24 h: a replay answers as the first request did.",
        schema: .string(minLength: 1, maxLength: 255, pattern: "^[!-~]+$")
    )
    static let lastEventID = HeaderParameter(
        name: "Last-Event-ID",
        description: "Resume a stream after this event.",
        schema: .string
    )
}

/// Detail sentences several routes share (each as `APIError+Details` words it).
enum Sentences {
    static let jobNotFound = "Job not found"
    static let foreignJob = "Job does not belong to your team"
    static let foreignJobs = "Cannot access jobs for a different team"
    static func notFound(_ what: String) -> String { "\(what) '<id>' not found" }
    static let rateLimited = "Rate limit exceeded: <which>"
    static let tooManyLongPolls = "Too many long polls"
    static let outcomeUnknown = "The outcome of the request is unknown; retry with the same Idempotency-Key"
    static let idempotencyReused = "Idempotency-Key reused with a different request"
    static let noGroupAccess = "Team does not have access to model group '<name>'"
    static let keyNotForTeam = "API key does not belong to team '<team_id>'"
    static let insufficientCredits = "Insufficient credits: <remaining> remaining, <needed> needed"
    static let busy = "Service is busy; retry shortly"
}
