import Shared

/// A change whose commit outcome is unknown (the connection broke during `COMMIT`) is a 503 that
/// says whether a retry is safe (API.md: never a guess, never a second job or a double credit).
/// With an `Idempotency-Key` the same key makes the retry safe; without one a blind retry may
/// apply the change twice, so the client is told what to read first.
enum UnknownOutcome {
    static let withKey = "The outcome of the request is unknown; retry with the same Idempotency-Key"
    static let creditsWithoutKey =
        "The outcome of the request is unknown; check the team's transactions before retrying, since a retry without an Idempotency-Key may apply the change twice"
    static let submitWithoutKey =
        "The outcome of the request is unknown; check the team's jobs before retrying, since a retry without an Idempotency-Key may create the job twice"

    /// Runs `change`, turning an unknown commit outcome into that 503.
    static func answering<T>(idempotencyKey: String?, withoutKey: String, _ change: () async throws -> T) async throws -> T {
        do {
            return try await change()
        } catch PostgresError.commitOutcomeUnknown {
            throw APIError.serviceUnavailable(idempotencyKey == nil ? withoutKey : withKey)
        }
    }
}
