/// What can go wrong talking to Redis.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis answered with an error reply (`-ERR …`, `-NOSCRIPT …`).
    case server(String)
    /// No connection could be made (refused, unknown host, authentication failed).
    case connectFailed(String)
    /// The connection broke while a command was in flight; whether Redis ran it is unknown.
    /// The connection is replaced for the next command.
    case connectionLost(String)
    /// No reply within the read timeout; whether Redis ran the command is unknown.
    case timeout
    /// A reply that does not have the shape the caller expected.
    case unexpectedReply(String)
    /// The client was shut down.
    case shutdown

    public var description: String {
        switch self {
        case .server(let message): return "Redis error: \(message)"
        case .connectFailed(let message): return "cannot connect to Redis: \(message)"
        case .connectionLost(let message): return "Redis connection lost: \(message)"
        case .timeout: return "Redis did not answer within the read timeout"
        case .unexpectedReply(let message): return "unexpected Redis reply: \(message)"
        case .shutdown: return "Redis client is shut down"
        }
    }
}
