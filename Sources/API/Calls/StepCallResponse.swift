import Foundation
import Hummingbird
import Shared

/// A call as `llm-call` and `GET /api/jobs/{id}/calls/{call_id}` answer it, in the original
/// system's shape: `response` and a `metadata` block of tokens, latency and models.
struct StepCallResponse: ResponseEncodable {
    var call: StepCall

    enum Keys: String, CodingKey {
        case callID = "call_id"
        case jobID = "job_id"
        case status, purpose, response, metadata, error, costs
        case creditsReserved = "credits_reserved"
        case costUSD = "cost_usd"
        case createdAt = "created_at"
        case completedAt = "completed_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(call.callID.lowercasedString, forKey: .callID)
        try c.encode(call.jobID.lowercasedString, forKey: .jobID)
        try c.encode(call.status.rawValue, forKey: .status)
        try c.encodeIfPresent(call.purpose, forKey: .purpose)
        try c.encode(call.creditsReserved, forKey: .creditsReserved)
        try c.encode(call.createdAt, forKey: .createdAt)
        guard call.status.isTerminal else { return }
        try c.encode(call.completedAt, forKey: .completedAt)
        if call.status == .completed {
            try c.encode(call.result, forKey: .response)
            try c.encode(
                CallMetadata(usage: call.usage ?? .zero, latencyMS: call.latencyMS ?? 0, model: call.modelGroup, modelUsed: call.modelUsed),
                forKey: .metadata
            )
            try c.encode(call.costUSD, forKey: .costUSD)
            try c.encode(CallCosts(call: call), forKey: .costs)
        } else {
            try c.encode(
                JobResponse.ErrorBody(code: (call.errorCode ?? .upstreamError).rawValue, message: call.errorMessage ?? call.status.rawValue),
                forKey: .error
            )
        }
    }

    /// The answer for the call's state: 200 completed, 202 still queued or running, and a call
    /// that ended without an answer is a 502 naming its category (the call stays recorded).
    static func answer(_ call: StepCall, _ request: Request, _ context: AppRequestContext) throws -> Response {
        switch call.status {
        case .completed:
            return try StepCallResponse(call: call).response(from: request, context: context)
        case .failed, .cancelled, .expired:
            throw APIError.llmCallFailed((call.errorCode ?? .upstreamError).rawValue)
        case .pending, .queued, .inProgress, .cancelling:
            var response = try StepCallResponse(call: call).response(from: request, context: context)
            response.status = .accepted
            return response
        }
    }
}

/// A completed call's money: its upstream cost, what it holds, what it will cost on its own until
/// its job ends (`credits_due`), and what it was charged after.
struct CallCosts: Encodable {
    var call: StepCall

    enum CodingKeys: String, CodingKey {
        case costUSD = "cost_usd"
        case creditsReserved = "credits_reserved"
        case creditsDue = "credits_due"
        case creditsCharged = "credits_charged"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(call.costUSD ?? 0, forKey: .costUSD)
        try c.encode(call.creditsReserved, forKey: .creditsReserved)
        try c.encode(call.creditsDue, forKey: .creditsDue)
        try c.encode(call.creditsCharged, forKey: .creditsCharged)
    }
}

/// The original system's per-call figures.
struct CallMetadata: Encodable {
    var usage: TokenUsage
    var latencyMS: Int
    var model: String?
    var modelUsed: String?

    enum CodingKeys: String, CodingKey {
        case tokensUsed = "tokens_used"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case latencyMS = "latency_ms"
        case model
        case modelUsed = "model_used"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(usage.totalTokens, forKey: .tokensUsed)
        try c.encode(usage.promptTokens, forKey: .promptTokens)
        try c.encode(usage.completionTokens, forKey: .completionTokens)
        try c.encode(latencyMS, forKey: .latencyMS)
        try c.encode(model, forKey: .model)
        try c.encode(modelUsed, forKey: .modelUsed)
    }
}

/// `costs` as `complete`, `create-and-call` and `GET /api/jobs/{id}/costs` answer it;
/// `breakdown` (one line per call) only on the costs route.
struct CostsBody: Encodable {
    var costs: JobCosts
    var withBreakdown: Bool

    enum CodingKeys: String, CodingKey {
        case totalCalls = "total_calls"
        case successfulCalls = "successful_calls"
        case failedCalls = "failed_calls"
        case totalTokens = "total_tokens"
        case totalCostUSD = "total_cost_usd"
        case avgLatencyMS = "avg_latency_ms"
        case creditsCharged = "credits_charged"
        case creditsRemaining = "credits_remaining"
        case breakdown
    }

    struct Line: Encodable {
        var line: JobCosts.Line

        enum CodingKeys: String, CodingKey {
            case callID = "call_id"
            case status, model, error, credits
            case modelUsed = "model_used"
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
            case costUSD = "cost_usd"
            case latencyMS = "latency_ms"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(line.callID.lowercasedString, forKey: .callID)
            try c.encode(line.status, forKey: .status)
            try c.encode(line.model, forKey: .model)
            try c.encode(line.modelUsed, forKey: .modelUsed)
            try c.encode(line.usage.promptTokens, forKey: .promptTokens)
            try c.encode(line.usage.completionTokens, forKey: .completionTokens)
            try c.encode(line.usage.totalTokens, forKey: .totalTokens)
            try c.encode(line.costUSD, forKey: .costUSD)
            try c.encode(line.latencyMS, forKey: .latencyMS)
            try c.encode(line.credits, forKey: .credits)
            try c.encode(line.error, forKey: .error)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(costs.totalCalls, forKey: .totalCalls)
        try c.encode(costs.successfulCalls, forKey: .successfulCalls)
        try c.encode(costs.failedCalls, forKey: .failedCalls)
        try c.encode(costs.totalTokens, forKey: .totalTokens)
        try c.encode(costs.totalCostUSD, forKey: .totalCostUSD)
        try c.encode(costs.avgLatencyMS, forKey: .avgLatencyMS)
        try c.encode(costs.creditsCharged, forKey: .creditsCharged)
        try c.encode(costs.creditsRemaining, forKey: .creditsRemaining)
        if withBreakdown { try c.encode(costs.breakdown.map(Line.init), forKey: .breakdown) }
    }
}

/// `POST /api/jobs/{job_id}/complete`'s answer.
struct CompletionResponse: ResponseEncodable {
    var completion: StepCompletion

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case status, costs, calls, metadata, error
        case completedAt = "completed_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        let job = completion.job
        try c.encode(job.jobID.lowercasedString, forKey: .jobID)
        try c.encode(job.status.rawValue, forKey: .status)
        try c.encode(job.completedAt, forKey: .completedAt)
        try c.encode(job.metadata, forKey: .metadata)
        try c.encode(CostsBody(costs: completion.costs, withBreakdown: false), forKey: .costs)
        try c.encode(completion.calls.map(StepCallResponse.init), forKey: .calls)
        if let code = job.errorCode {
            try c.encode(JobResponse.ErrorBody(code: code.rawValue, message: job.errorMessage ?? code.rawValue), forKey: .error)
        }
    }
}

/// `GET /api/jobs/{job_id}/costs`.
struct CostsResponse: ResponseEncodable {
    var jobID: UUID
    var costs: JobCosts

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case costs
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(jobID.lowercasedString, forKey: .jobID)
        try c.encode(CostsBody(costs: costs, withBreakdown: true), forKey: .costs)
    }
}

/// `PATCH /api/jobs/{job_id}/metadata`.
struct MetadataResponse: ResponseEncodable {
    var jobID: String
    var metadata: JSONObject
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case metadata
        case updatedAt = "updated_at"
    }
}

extension ServerSentEvent {
    /// A stream's final `event: error`: the sentence `llm-call` answers for a call that ended
    /// without an answer (`create-and-call-stream` and `llm-call-stream` alike).
    static func callFailed(_ code: JobErrorCode?) throws -> ServerSentEvent {
        try ServerSentEvent(event: "error", json: ErrorBody(detail: APIError.llmCallFailed((code ?? .upstreamError).rawValue).detail))
    }
}
