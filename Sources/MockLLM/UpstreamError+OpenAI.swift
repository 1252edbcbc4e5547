/// The errors as OpenAI writes them: `{"error":{"message","type","param","code"}}`.
extension UpstreamError {
    func writeOpenAIBody(into writer: inout JSONWriter) {
        let (message, type, param, code) = self.openAIFields
        writer.raw("{\"error\":{\"message\":")
        writer.string(message)
        writer.raw(",\"type\":")
        writer.string(type)
        writer.raw(",\"param\":")
        writer.string(param)
        writer.raw(",\"code\":")
        writer.string(code)
        writer.raw("}}")
    }

    private var openAIFields: (message: String, type: String, param: String?, code: String?) {
        switch self {
        case .missingKey:
            (
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error", nil, "invalid_api_key"
            )
        case .invalidKey:
            ("Incorrect API key provided.", "invalid_request_error", nil, "invalid_api_key")
        case .missingVersion:
            ("anthropic-version: header is required", "invalid_request_error", nil, nil)
        case .invalidRequest(let message, let param):
            (message, "invalid_request_error", param, nil)
        case .bodyTooLarge:
            (
                "The request body exceeds the limit of \(MockRequestContext.maximumBodySize) bytes.",
                "invalid_request_error", nil, "request_too_large"
            )
        case .contextTooLong(let limit, let tokens):
            (
                "This model's maximum context length is \(limit) tokens. However, your messages resulted in \(tokens) tokens. Please reduce the length of the messages.",
                "invalid_request_error", "messages", "context_length_exceeded"
            )
        case .rateLimited(let seconds):
            ("Rate limit reached for requests. Please try again in \(Self.duration(seconds)).", "requests", nil, "rate_limit_exceeded")
        case .quotaExceeded:
            ("You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", nil, "insufficient_quota")
        case .serverError:
            ("The server had an error while processing your request. Sorry about that!", "server_error", nil, nil)
        case .overloaded:
            ("Overloaded", "overloaded_error", nil, "overloaded")
        case .timedOut:
            ("Request timed out.", "timeout", nil, "timeout")
        case .notFound(let method, let path):
            ("Unknown request URL: \(method) \(path).", "invalid_request_error", nil, "unknown_url")
        }
    }

    /// `1s`, `250ms`: how OpenAI words a wait.
    static func duration(_ seconds: Double) -> String {
        seconds >= 1 && seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(Int((seconds * 1000).rounded()))ms"
    }
}
