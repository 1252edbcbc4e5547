import Hummingbird

/// Every answer of the LLM routes that is not a completion, independent of the dialect.
///
/// Real and injected failures share these cases: a 401 for a missing key and a 401 injected by
/// `bad_key` must look alike to the client, or the mock would test something else than a provider.
enum UpstreamError: Error, Sendable, Equatable {
    case missingKey
    case invalidKey
    /// Anthropic only: the `anthropic-version` header is required.
    case missingVersion
    /// A body that is not JSON, misses a field or has a wrong value.
    case invalidRequest(String, param: String? = nil)
    case bodyTooLarge
    case contextTooLong(limit: Int, tokens: Int)
    case rateLimited(retryAfterSeconds: Double)
    case quotaExceeded
    case serverError
    case overloaded
    /// The end of a `timeout` call that the client waited out.
    case timedOut
    case notFound(method: String, path: String)

    var status: HTTPResponse.Status {
        switch self {
        case .missingKey, .invalidKey: .unauthorized
        case .missingVersion, .invalidRequest, .contextTooLong: .badRequest
        case .bodyTooLarge: .contentTooLarge
        case .rateLimited, .quotaExceeded: .tooManyRequests
        case .serverError: .internalServerError
        case .overloaded: HTTPResponse.Status(code: 529, reasonPhrase: "Overloaded")
        case .timedOut: .gatewayTimeout
        case .notFound: .notFound
        }
    }

    /// The answer in `dialect`'s format, `Retry-After` and `retry-after-ms` included for a rate limit.
    func response(_ dialect: Dialect, requestID: String) -> Response {
        var writer = JSONWriter(capacity: 256)
        switch dialect {
        case .openAI: self.writeOpenAIBody(into: &writer)
        case .anthropic: self.writeAnthropicBody(into: &writer, requestID: requestID)
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if case .rateLimited(let seconds) = self {
            headers[.retryAfter] = String(Int(seconds.rounded(.up)))
            headers[.retryAfterMs] = String(Int((seconds * 1000).rounded()))
        }
        return Response(status: self.status, headers: headers, body: .init(byteBuffer: writer.buffer))
    }
}
