import Postgres
import Shared

/// A change whose commit outcome is unknown (the connection broke during `COMMIT`) is a 503 that
/// says whether a retry is safe (API.md: never a guess, never a second job or a double credit).
/// With an `Idempotency-Key` the same key makes the retry safe; without one a blind retry may
/// apply the change twice, so the client is told what to read first.
enum UnknownOutcome {
    /// Runs `change`, turning an unknown commit outcome into that 503: `withoutKey` (what to
    /// read before retrying: ``APIError/creditsOutcomeUnknown``, ``APIError/submitOutcomeUnknown``)
    /// when the request had no key.
    static func answering<T>(idempotencyKey: String?, withoutKey: APIError, _ change: () async throws -> T) async throws -> T {
        do {
            return try await change()
        } catch PostgresError.commitOutcomeUnknown {
            throw idempotencyKey == nil ? withoutKey : .outcomeUnknownRetryWithKey
        }
    }
}
