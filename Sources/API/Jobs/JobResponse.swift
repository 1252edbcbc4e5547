import Foundation
import Hummingbird
import Shared

/// A job as `GET /api/jobs/{id}` returns it (API.md). Fields that are not known yet are `null`,
/// not missing; `result`, `usage`, `cost_usd` and `error` appear once the job is terminal.
struct JobResponse: JSONWritable {
    var job: Job

    enum Keys: String, CodingKey {
        case jobID = "job_id"
        case teamID = "team_id"
        case jobType = "job_type"
        case userID = "user_id"
        case status
        case createdAt = "created_at"
        case startedAt = "started_at"
        case completedAt = "completed_at"
        case expiresAt = "expires_at"
        case attempts, model, metadata
        case creditsReserved = "credits_reserved"
        case creditsCharged = "credits_charged"
        case progress, result, usage
        case costUSD = "cost_usd"
        case error, priority
        case contentErasedAt = "content_erased_at"
    }

    struct Progress: Encodable {
        var callsDone: Int
        var callsPlanned: Int

        enum CodingKeys: String, CodingKey {
            case callsDone = "calls_done"
            case callsPlanned = "calls_planned"
        }
    }

    struct Usage: Encodable {
        var promptTokens: Int
        var completionTokens: Int
        var totalTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }
    }

    struct ErrorBody: Encodable {
        var code: String
        var message: String
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(job.jobID.lowercasedString, forKey: .jobID)
        try c.encode(job.teamID, forKey: .teamID)
        try c.encode(job.jobType, forKey: .jobType)
        try c.encode(job.userID, forKey: .userID)
        try c.encode(job.status.rawValue, forKey: .status)
        try c.encode(job.priority, forKey: .priority)
        try c.encode(job.createdAt, forKey: .createdAt)
        try c.encode(job.startedAt, forKey: .startedAt)
        try c.encode(job.completedAt, forKey: .completedAt)
        try c.encode(job.expiresAt, forKey: .expiresAt)
        try c.encode(job.attempts, forKey: .attempts)
        try c.encode(job.modelGroup, forKey: .model)
        try c.encode(job.metadata, forKey: .metadata)
        try c.encode(job.creditsReserved, forKey: .creditsReserved)
        try c.encode(job.creditsCharged, forKey: .creditsCharged)
        try c.encode(Progress(callsDone: job.callsDone, callsPlanned: job.callsPlanned), forKey: .progress)
        if job.status.isTerminal {
            try c.encode(job.result, forKey: .result)
            try c.encode(
                job.usage.map { Usage(promptTokens: $0.promptTokens, completionTokens: $0.completionTokens, totalTokens: $0.totalTokens) },
                forKey: .usage
            )
            try c.encode(job.costUSD, forKey: .costUSD)
            try c.encode(job.errorCode.map { ErrorBody(code: $0.rawValue, message: job.errorMessage ?? $0.rawValue) }, forKey: .error)
            try c.encodeIfPresent(job.contentErasedAt, forKey: .contentErasedAt)
        }
    }

    /// Written directly (``JSONWritable``): the same JSON as the `Encodable` conformance.
    static let writerCapacity = 512

    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("job_id")
        writer.uuid(job.jobID)
        writer.key("team_id")
        writer.string(job.teamID)
        writer.key("job_type")
        writer.string(job.jobType)
        writer.key("user_id")
        writer.string(job.userID)
        writer.key("status")
        writer.string(job.status.rawValue)
        writer.key("priority")
        writer.int(job.priority)
        writer.key("created_at")
        writer.date(job.createdAt)
        writer.key("started_at")
        writer.date(job.startedAt)
        writer.key("completed_at")
        writer.date(job.completedAt)
        writer.key("expires_at")
        writer.date(job.expiresAt)
        writer.key("attempts")
        writer.int(job.attempts)
        writer.key("model")
        writer.string(job.modelGroup)
        writer.key("metadata")
        writer.object(job.metadata)
        writer.key("credits_reserved")
        writer.int(job.creditsReserved)
        writer.key("credits_charged")
        writer.int(job.creditsCharged)
        writer.key("progress")
        writer.beginObject()
        writer.key("calls_done")
        writer.int(job.callsDone)
        writer.key("calls_planned")
        writer.int(job.callsPlanned)
        writer.endObject()
        if job.status.isTerminal {
            writer.key("result")
            writer.json(job.result)
            writer.key("usage")
            if let usage = job.usage {
                writer.beginObject()
                writer.key("prompt_tokens")
                writer.int(usage.promptTokens)
                writer.key("completion_tokens")
                writer.int(usage.completionTokens)
                writer.key("total_tokens")
                writer.int(usage.totalTokens)
                writer.endObject()
            } else {
                writer.null()
            }
            writer.key("cost_usd")
            writer.decimal(job.costUSD)
            writer.key("error")
            if let code = job.errorCode {
                writer.beginObject()
                writer.key("code")
                writer.string(code.rawValue)
                writer.key("message")
                writer.string(job.errorMessage ?? code.rawValue)
                writer.endObject()
            } else {
                writer.null()
            }
            if let erased = job.contentErasedAt {
                writer.key("content_erased_at")
                writer.date(erased)
            }
        }
        writer.endObject()
    }
}

struct JobListResponse: ResponseEncodable {
    var jobs: [JobResponse]
    var nextCursor: Nullable<String>

    enum CodingKeys: String, CodingKey {
        case jobs
        case nextCursor = "next_cursor"
    }
}

struct CallResponse: Encodable {
    var callID: String
    var step: String
    var stepIndex: Int
    var model: String
    var provider: String
    var attempt: Int
    var statusCode: Int?
    var errorClass: String?
    var error: String?
    var upstreamRequestID: String?
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
    var costUSD: Decimal
    var latencyMS: Int
    var billed: Bool
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case callID = "call_id"
        case step
        case stepIndex = "step_index"
        case model, provider, attempt
        case statusCode = "status_code"
        case errorClass = "error_class"
        case error
        case upstreamRequestID = "upstream_request_id"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
        case costUSD = "cost_usd"
        case latencyMS = "latency_ms"
        case billed
        case createdAt = "created_at"
    }

    /// A call as its team reads it; `admin: true` for `GET /api/admin/jobs/{id}`.
    ///
    /// Tenants see an upstream failure as its category, status and request id (SYSTEM.md,
    /// guarantee 10): the upstream's own text can quote the provider's key. Admins see that text,
    /// redacted when it was recorded.
    init(_ call: JobCall, admin: Bool) {
        callID = call.callID.lowercasedString
        step = call.step
        stepIndex = call.stepIndex
        model = call.model
        provider = call.provider
        attempt = call.attempt
        statusCode = call.statusCode
        errorClass = call.errorClass
        if admin {
            error = call.error
        } else {
            error =
                call.error == nil && call.errorClass == nil
                ? nil : UpstreamErrorSummary.sentence(errorClass: call.errorClass, statusCode: call.statusCode, requestID: call.upstreamRequestID)
        }
        upstreamRequestID = call.upstreamRequestID
        promptTokens = call.usage.promptTokens
        completionTokens = call.usage.completionTokens
        totalTokens = call.usage.totalTokens
        costUSD = call.costUSD
        latencyMS = call.latencyMS
        billed = call.billed
        createdAt = call.createdAt
    }
}

struct CallsResponse: ResponseEncodable {
    var calls: [CallResponse]
}
