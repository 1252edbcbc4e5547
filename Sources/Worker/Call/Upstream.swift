import Foundation
import Shared

/// Where and how to call one provider.
struct UpstreamEndpoint: Sendable {
    var provider: String
    var kind: ProviderKind
    var baseURL: String
    var apiKey: String
    var timeout: Duration
    /// Requests and tokens per minute allowed by the provider's configuration, shared by all workers.
    var rpm: Int?
    var tpm: Int?
}

/// One chat completion request, in the provider-neutral shape the job runner builds.
struct UpstreamRequest: Sendable {
    var model: String
    var messages: [JSONValue]
    var maxTokens: Int
    var temperature: Double?
    var topP: Double?
    var stop: JSONValue?
    var tools: JSONValue?
    var toolChoice: JSONValue?
    var responseFormat: JSONValue?
    /// OpenAI's penalties (step-by-step calls may set them); Anthropic has none and ignores them.
    var frequencyPenalty: Double? = nil
    var presencePenalty: Double? = nil
}

/// A successful answer, in one shape whatever the provider.
struct UpstreamResponse: Sendable {
    var content: String?
    var finishReason: String?
    var toolCalls: JSONValue?
    var usage: TokenUsage
    var requestID: String?
    var statusCode: Int
    /// Set when the rate-limit headers say no request is left: how long until they reset.
    var exhaustedFor: Duration?
}

/// A failed call, classified by what the job should do about it (SYSTEM.md, guarantee 7).
struct UpstreamFailure: Error, Sendable {
    enum Kind: String, Sendable {
        /// 429: wait (Retry-After) and try again without using an attempt.
        case rateLimited = "rate_limited"
        /// 408/409/5xx/529, timeouts, resets, malformed bodies: retry with backoff.
        case transient
        /// 400/404/413/422: the request itself is wrong; retrying cannot help.
        case invalidRequest = "invalid_request"
        /// The prompt does not fit the model: another model of the group may take it.
        case contextTooLong = "context_too_long"
        /// 401/403: the provider's key is bad.
        case badCredentials = "bad_credentials"
        /// 402, `insufficient_quota`, spend limits: not this provider again.
        case quotaExhausted = "quota_exhausted"
    }

    var kind: Kind
    var statusCode: Int?
    var message: String
    var retryAfter: Duration?
    var requestID: String?
    /// Set when the failure is this service's own finding (not the upstream's words), which the
    /// tenant may read as it is.
    var ownMessage: String?
    /// Set when a streaming call failed after at least one delta reached its ``DeltaSink``: the
    /// tenant has already read part of an answer, so the caller must neither retry this call nor
    /// fall back to another model (either would show a second, different answer after the
    /// first one's start). The failure settles as it is. Always false for non-streaming calls.
    var afterOutput: Bool = false

    /// A call that ran past its endpoint's timeout.
    static let timedOut = UpstreamFailure(kind: .transient, statusCode: nil, message: "timed out")

    /// Whether this is ``timedOut`` (the metrics' `timeout` class).
    var isTimeout: Bool { statusCode == nil && kind == .transient && message == Self.timedOut.message }
}

/// The seam to the LLM providers. The HTTP client under it never retries by itself: the job
/// owns the one retry loop.
protocol Upstream: Sendable {
    func complete(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint) async throws(UpstreamFailure) -> UpstreamResponse

    /// The same call made with `stream: true`: each text delta goes to `sink` as it arrives
    /// (cleaned, in order, never empty), and the answer comes back in the shape ``complete(_:at:)``
    /// returns — content the concatenation of the deltas, tool calls assembled from theirs, the
    /// usage the stream reported. A failure after a delta reached the sink has
    /// ``UpstreamFailure/afterOutput`` set.
    func stream(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint, into sink: any DeltaSink) async throws(UpstreamFailure) -> UpstreamResponse
}

extension Upstream {
    /// A provider (or a test's fake) that cannot stream: the whole answer is one delta, handed
    /// over once the call succeeded, so a failure never has output before it.
    func stream(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint, into sink: any DeltaSink) async throws(UpstreamFailure) -> UpstreamResponse
    {
        let response = try await complete(request, at: endpoint)
        if let content = response.content, !content.isEmpty { await sink.delta(content) }
        return response
    }
}

extension UpstreamFailure {
    /// The failure as a tenant may read it (a job's `error.message`): the category, the status
    /// and the upstream's request id, never the upstream's text.
    var tenantMessage: String {
        ownMessage ?? UpstreamErrorSummary.sentence(errorClass: kind.rawValue, statusCode: statusCode, requestID: requestID)
    }
}
