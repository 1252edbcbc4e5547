import HTTPTypes

/// The header names the providers use and HTTPTypes does not predefine.
extension HTTPField.Name {
    /// OpenAI's request id (the mock sends it on every answer).
    static let xRequestID = Self("x-request-id")!
    /// Anthropic's request id.
    static let requestID = Self("request-id")!
    /// Milliseconds to wait, sent beside `Retry-After` (which only has whole seconds).
    static let retryAfterMs = Self("retry-after-ms")!
    static let xAPIKey = Self("x-api-key")!
    static let anthropicVersion = Self("anthropic-version")!
}
