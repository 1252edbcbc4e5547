import Foundation
import Hummingbird
import Shared

/// A job as `GET /api/jobs/{id}` returns it (API.md). Fields that are not known yet are `null`,
/// not missing; `result`, `usage`, `cost_usd` and `error` appear once the job is terminal.
struct JobResponse: ResponseEncodable {
    var job: Job

    enum Keys: String, CodingKey {
        case job_id, team_id, job_type, user_id, status, created_at, started_at, completed_at, expires_at, attempts, model
        case metadata, credits_reserved, credits_charged, progress, result, usage, cost_usd, error, priority
    }

    struct Progress: Encodable {
        var calls_done: Int
        var calls_planned: Int
    }

    struct Usage: Encodable {
        var prompt_tokens: Int
        var completion_tokens: Int
        var total_tokens: Int
    }

    struct ErrorBody: Encodable {
        var code: String
        var message: String
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(job.jobID.lowercasedString, forKey: .job_id)
        try c.encode(job.teamID, forKey: .team_id)
        try c.encode(job.jobType, forKey: .job_type)
        try c.encode(job.userID, forKey: .user_id)
        try c.encode(job.status.rawValue, forKey: .status)
        try c.encode(job.priority, forKey: .priority)
        try c.encode(job.createdAt, forKey: .created_at)
        try c.encode(job.startedAt, forKey: .started_at)
        try c.encode(job.completedAt, forKey: .completed_at)
        try c.encode(job.expiresAt, forKey: .expires_at)
        try c.encode(job.attempts, forKey: .attempts)
        try c.encode(job.modelGroup, forKey: .model)
        try c.encode(job.metadata, forKey: .metadata)
        try c.encode(job.creditsReserved, forKey: .credits_reserved)
        try c.encode(job.creditsCharged, forKey: .credits_charged)
        try c.encode(Progress(calls_done: job.callsDone, calls_planned: job.callsPlanned), forKey: .progress)
        if job.status.isTerminal {
            try c.encode(job.result, forKey: .result)
            try c.encode(job.usage.map { Usage(prompt_tokens: $0.promptTokens, completion_tokens: $0.completionTokens, total_tokens: $0.totalTokens) }, forKey: .usage)
            try c.encode(job.costUSD, forKey: .cost_usd)
            try c.encode(job.errorCode.map { ErrorBody(code: $0.rawValue, message: job.errorMessage ?? $0.rawValue) }, forKey: .error)
        }
    }
}

struct JobListResponse: ResponseEncodable {
    var jobs: [JobResponse]
    var next_cursor: Nullable<String>
}

struct CallResponse: Encodable {
    var call_id: String
    var step: String
    var step_index: Int
    var model: String
    var provider: String
    var attempt: Int
    var status_code: Int?
    var error_class: String?
    var error: String?
    var upstream_request_id: String?
    var prompt_tokens: Int
    var completion_tokens: Int
    var total_tokens: Int
    var cost_usd: Decimal
    var latency_ms: Int
    var billed: Bool
    var created_at: Date

    /// A call as its team reads it; `admin: true` for `GET /api/admin/jobs/{id}`.
    ///
    /// Tenants see an upstream failure as its category, status and request id (SYSTEM.md,
    /// guarantee 10): the upstream's own text can quote the provider's key. Admins see that text,
    /// redacted when it was recorded.
    init(_ call: JobCall, admin: Bool) {
        call_id = call.callID.lowercasedString
        step = call.step
        step_index = call.stepIndex
        model = call.model
        provider = call.provider
        attempt = call.attempt
        status_code = call.statusCode
        error_class = call.errorClass
        if admin {
            error = call.error
        } else {
            error = call.error == nil && call.errorClass == nil
                ? nil : UpstreamErrorSummary.sentence(errorClass: call.errorClass, statusCode: call.statusCode, requestID: call.upstreamRequestID)
        }
        upstream_request_id = call.upstreamRequestID
        prompt_tokens = call.usage.promptTokens
        completion_tokens = call.usage.completionTokens
        total_tokens = call.usage.totalTokens
        cost_usd = call.costUSD
        latency_ms = call.latencyMS
        billed = call.billed
        created_at = call.createdAt
    }
}

struct CallsResponse: ResponseEncodable {
    var calls: [CallResponse]
}
