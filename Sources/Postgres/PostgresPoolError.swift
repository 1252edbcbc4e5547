/// The pool's wait line refused a caller: the database is the bottleneck and waiting longer would
/// only grow memory and latency. Nothing was sent to PostgreSQL, so the caller may simply try
/// again later (the API answers 503 with `Retry-After`).
public enum PostgresPoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `limit` callers were already waiting for a connection.
    case waitLineFull(limit: Int)
    /// No connection came back within `seconds`.
    case acquireTimedOut(seconds: Double)

    public var description: String {
        switch self {
        case .waitLineFull(let limit): return "PostgreSQL pool: \(limit) callers already waiting for a connection"
        case .acquireTimedOut(let seconds): return "PostgreSQL pool: no connection within \(seconds) s"
        }
    }
}
