public import Foundation

public enum JobStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case pending, queued
    case inProgress = "in_progress"
    case cancelling, completed, failed, cancelled, expired

    /// A terminal status never changes again.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled, .expired: return true
        default: return false
        }
    }
}

/// Why a job failed, cancelled or expired (API.md: `error.code`).
public enum JobErrorCode: String, Sendable, Codable, Hashable {
    case upstreamError = "upstream_error"
    case invalidRequest = "invalid_request"
    case contextTooLong = "context_too_long"
    case poison, expired, cancelled, partial
    /// The final answer did not fit the job's `response_format` schema, on its retry as well.
    case invalidOutput = "invalid_output"
}

/// The LLM work of a job, as submitted: chat `messages`, or a `document` with `instructions`, and
/// the generation options passed through to the upstream.
public struct JobWork: Sendable, Hashable, Codable {
    public var messages: [JSONValue]?
    public var document: String?
    public var instructions: String?
    public var temperature: Double?
    public var maxTokens: Int?
    public var responseFormat: JSONValue?
    public var tools: JSONValue?
    public var toolChoice: JSONValue?
    public var stop: JSONValue?
    public var topP: Double?
    public var frequencyPenalty: Double?
    public var presencePenalty: Double?
    public var allowPartial: Bool?
    /// The worker streams the upstream's answer into the call's Redis stream as it arrives
    /// (`create-and-call-stream`, `llm-call-stream`).
    public var stream: Bool?
    /// A step-by-step call's label, and the metadata merged into its job's when it completes.
    public var purpose: String?
    public var callMetadata: JSONObject?
    /// An uploaded file in place of `document`: its bytes are in the ``DocumentStore`` under the
    /// job's id, and a worker extracts its text before planning the calls.
    public var upload: DocumentUpload?

    enum CodingKeys: String, CodingKey {
        case messages, document, instructions, temperature, stop, stream, purpose, upload
        case maxTokens = "max_tokens"
        case responseFormat = "response_format"
        case tools
        case toolChoice = "tool_choice"
        case topP = "top_p"
        case frequencyPenalty = "frequency_penalty"
        case presencePenalty = "presence_penalty"
        case allowPartial = "allow_partial"
        case callMetadata = "call_metadata"
    }

    public init(
        messages: [JSONValue]? = nil,
        document: String? = nil,
        instructions: String? = nil,
        temperature: Double? = nil,
        maxTokens: Int? = nil,
        responseFormat: JSONValue? = nil,
        tools: JSONValue? = nil,
        toolChoice: JSONValue? = nil,
        stop: JSONValue? = nil,
        topP: Double? = nil,
        frequencyPenalty: Double? = nil,
        presencePenalty: Double? = nil,
        allowPartial: Bool? = nil,
        stream: Bool? = nil,
        purpose: String? = nil,
        callMetadata: JSONObject? = nil,
        upload: DocumentUpload? = nil
    ) {
        self.messages = messages
        self.document = document
        self.instructions = instructions
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.responseFormat = responseFormat
        self.tools = tools
        self.toolChoice = toolChoice
        self.stop = stop
        self.topP = topP
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.allowPartial = allowPartial
        self.stream = stream
        self.purpose = purpose
        self.callMetadata = callMetadata
        self.upload = upload
    }

    /// Whether the job analyses a document (sent as text or uploaded as a file).
    public var isDocument: Bool { document != nil || upload != nil }
}

/// Token counts of one call or a whole job. `total` = prompt + completion.
public struct TokenUsage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    public static let zero = TokenUsage(promptTokens: 0, completionTokens: 0)

    public static func + (a: TokenUsage, b: TokenUsage) -> TokenUsage {
        TokenUsage(promptTokens: a.promptTokens + b.promptTokens, completionTokens: a.completionTokens + b.completionTokens)
    }
}

/// A job as clients and admins read it.
public struct Job: Sendable, Hashable {
    public var jobID: UUID
    public var teamID: String
    public var jobType: String
    public var userID: String?
    public var status: JobStatus
    public var priority: Int
    public var modelGroup: String?
    public var metadata: JSONObject
    public var creditsReserved: Int
    public var creditsCharged: Int
    public var attempts: Int
    public var callsDone: Int
    public var callsPlanned: Int
    public var result: JSONValue?
    public var usage: TokenUsage?
    public var costUSD: Decimal?
    public var errorCode: JobErrorCode?
    public var errorMessage: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var completedAt: Date?
    public var expiresAt: Date
    /// When its contents (request, document, result, call contents) were erased, if they were.
    public var contentErasedAt: Date? = nil
}

/// One upstream call of a job, billed or not.
public struct JobCall: Sendable, Hashable {
    public var callID: UUID
    public var jobID: UUID
    public var step: String
    public var stepIndex: Int
    public var model: String
    public var provider: String
    public var attempt: Int
    public var statusCode: Int?
    public var errorClass: String?
    public var error: String?
    public var upstreamRequestID: String?
    public var usage: TokenUsage
    public var costUSD: Decimal
    public var latencyMS: Int
    public var billed: Bool
    public var createdAt: Date

    public init(
        callID: UUID = UUID.random(),
        jobID: UUID,
        step: String = "single",
        stepIndex: Int = 0,
        model: String,
        provider: String,
        attempt: Int,
        statusCode: Int?,
        errorClass: String?,
        error: String?,
        upstreamRequestID: String?,
        usage: TokenUsage,
        costUSD: Decimal,
        latencyMS: Int,
        billed: Bool = false,
        createdAt: Date = Date()
    ) {
        self.callID = callID
        self.jobID = jobID
        self.step = step
        self.stepIndex = stepIndex
        self.model = model
        self.provider = provider
        self.attempt = attempt
        self.statusCode = statusCode
        self.errorClass = errorClass
        self.error = error
        self.upstreamRequestID = upstreamRequestID
        self.usage = usage
        self.costUSD = costUSD
        self.latencyMS = latencyMS
        self.billed = billed
        self.createdAt = createdAt
    }
}
