/// What can go wrong talking to PostgreSQL. Server errors keep their SQLSTATE, so callers match
/// on codes (`23505` unique violation, `23514` check violation, …) rather than on messages.
public enum PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server refused the statement.
    case server(sqlState: String, message: String, detail: String?)
    /// No connection could be made.
    case connectFailed(String)
    /// The connection broke while a statement was in flight.
    case connectionLost(String)
    /// The connection broke while `COMMIT` was in flight: the transaction may or may not have
    /// been committed. Callers answer 503 rather than guess (API.md, "Submitting work").
    case commitOutcomeUnknown(String)
    /// A column's value could not be decoded as the requested type.
    case decoding(column: String, type: String, value: String?)
    /// A parameter PostgreSQL cannot store: text or JSON with a NUL character (refused here rather
    /// than silently truncated by libpq's C strings).
    case invalidParameter(String)
    /// A column the caller asked for is not in the result.
    case missingColumn(String)
    /// The pool was shut down.
    case shutdown

    /// SQLSTATE codes with a name in this code base.
    public enum Code {
        public static let uniqueViolation = "23505"
        public static let foreignKeyViolation = "23503"
        public static let checkViolation = "23514"
        public static let serializationFailure = "40001"
        public static let deadlockDetected = "40P01"
        public static let adminShutdown = "57P01"
    }

    public var sqlState: String? {
        if case .server(let state, _, _) = self { return state }
        return nil
    }

    /// Errors that one statement's content caused (as opposed to the connection): in a grouped
    /// batch, the signal to retry each member alone.
    public var isStatementError: Bool {
        switch self {
        case .server, .invalidParameter: return true
        default: return false
        }
    }

    /// Errors after which running the whole transaction again is safe and may succeed.
    public var isTransient: Bool {
        switch self {
        case .server(let state, _, _):
            return state == Code.serializationFailure || state == Code.deadlockDetected
        case .connectionLost:
            return true
        default:
            return false
        }
    }

    public var description: String {
        switch self {
        case .server(let state, let message, let detail):
            return "PostgreSQL error \(state): \(message)" + (detail.map { " (\($0))" } ?? "")
        case .connectFailed(let message): return "cannot connect to PostgreSQL: \(message)"
        case .connectionLost(let message): return "PostgreSQL connection lost: \(message)"
        case .commitOutcomeUnknown(let message): return "PostgreSQL commit outcome unknown: \(message)"
        case .decoding(let column, let type, let value):
            return "cannot decode column '\(column)' as \(type) from \(value.map { "'\($0)'" } ?? "NULL")"
        case .invalidParameter(let reason): return "invalid parameter: \(reason)"
        case .missingColumn(let column): return "no column '\(column)' in the result"
        case .shutdown: return "PostgreSQL pool is shut down"
        }
    }
}
