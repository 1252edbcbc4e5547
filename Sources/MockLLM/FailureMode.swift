/// How the mock answers the calls it is told to fail: one value per kind of upstream failure the
/// worker must handle (retry, back off, reschedule, try the next model, give up).
enum FailureMode: String, Sendable, CaseIterable {
    /// No failure: every call is answered normally.
    case ok
    /// 429 with `Retry-After` and `retry-after-ms`: back off, then retry the same model.
    case rateLimit = "rate_limit"
    /// 500: retried with backoff.
    case serverError = "server_error"
    /// 529 `overloaded_error`, as Anthropic sends it: retried with backoff.
    case overloaded
    /// Accept the call, then answer nothing for `timeout_seconds` (or until the client leaves).
    case timeout
    /// 200 with a body cut in the middle: the client's decoding must fail cleanly.
    case malformed
    /// 401 as for a wrong key: the next model of the group, not a retry.
    case badKey = "bad_key"
    /// 429 `insufficient_quota` (no `Retry-After`): the next model, not a backoff.
    case quota
    /// 400 `context_length_exceeded`: the next model (one with a larger context), not a retry.
    case context
}
