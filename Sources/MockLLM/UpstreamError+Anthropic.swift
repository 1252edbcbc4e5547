/// The errors as Anthropic writes them: `{"type":"error","error":{"type","message"},"request_id"}`.
extension UpstreamError {
    func writeAnthropicBody(into writer: inout JSONWriter, requestID: String) {
        let (type, message) = self.anthropicFields
        writer.raw("{\"type\":\"error\",\"error\":{\"type\":")
        writer.string(type)
        writer.raw(",\"message\":")
        writer.string(message)
        if case .quotaExceeded = self {
            // Anthropic's spend-limit 429: no retry-after, and this code tells it from a rate limit
            writer.raw(",\"details\":{\"error_code\":\"enforced_spend_limit_reached\"}")
        }
        writer.raw("},\"request_id\":")
        writer.string("req_" + requestID)
        writer.raw("}")
    }

    private var anthropicFields: (type: String, message: String) {
        switch self {
        case .missingKey: ("authentication_error", "x-api-key header is required")
        case .invalidKey: ("authentication_error", "invalid x-api-key")
        case .missingVersion: ("invalid_request_error", "anthropic-version: header is required")
        case .invalidRequest(let message, _): ("invalid_request_error", message)
        case .bodyTooLarge: ("request_too_large", "Request exceeds the maximum allowed number of bytes.")
        case .contextTooLong(let limit, let tokens): ("invalid_request_error", "prompt is too long: \(tokens) tokens > \(limit) maximum")
        case .rateLimited: ("rate_limit_error", "This request would exceed the rate limit for your organization. Please try again later.")
        case .quotaExceeded: ("rate_limit_error", "You have reached your specified API usage limits.")
        case .serverError: ("api_error", "Internal server error")
        case .overloaded: ("overloaded_error", "Overloaded")
        case .timedOut: ("timeout_error", "Request timed out")
        case .notFound(let method, let path): ("not_found_error", "Not found: \(method) \(path)")
        }
    }
}
