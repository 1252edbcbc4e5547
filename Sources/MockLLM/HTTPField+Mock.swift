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

/// The rate-limit headers the hostile mode fills with absurd values.
extension HTTPField.Name {
    static let rateLimitRemainingRequests = Self("x-ratelimit-remaining-requests")!
    static let rateLimitResetRequests = Self("x-ratelimit-reset-requests")!
    static let rateLimitRemainingTokens = Self("x-ratelimit-remaining-tokens")!
    static let rateLimitResetTokens = Self("x-ratelimit-reset-tokens")!
    static let anthropicRequestsRemaining = Self("anthropic-ratelimit-requests-remaining")!
    static let anthropicRequestsReset = Self("anthropic-ratelimit-requests-reset")!
    static let anthropicTokensRemaining = Self("anthropic-ratelimit-tokens-remaining")!
    static let anthropicTokensReset = Self("anthropic-ratelimit-tokens-reset")!
    /// The hostile kind an answer came from (the mock's own header).
    static let mockHostileKind = Self("x-mock-hostile-kind")!
}
