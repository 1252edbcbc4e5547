/// A reply from Redis, decoded from hiredis's `redisReply` into a value type that owns its bytes.
public enum RedisValue: Sendable, Hashable {
    case null
    case status(String)
    case integer(Int)
    case bulk([UInt8])
    case array([RedisValue])
    /// An error reply (`-ERR …`). Inside a pipeline it is one command's answer, not a failure of the
    /// whole pipeline; ``RedisClient/send(_:)`` throws it as ``RedisError/server(_:)``.
    case error(String)

    /// The reply as text: bulk strings decoded as UTF-8, status strings and integers as written.
    public var string: String? {
        switch self {
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let s): return s
        case .integer(let i): return String(i)
        default: return nil
        }
    }

    public var int: Int? {
        switch self {
        case .integer(let i): return i
        case .bulk(let bytes): return Int(String(decoding: bytes, as: UTF8.self))
        case .status(let s): return Int(s)
        default: return nil
        }
    }

    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Throws an error reply as ``RedisError/server(_:)``; returns any other reply unchanged.
    public func throwingError() throws(RedisError) -> RedisValue {
        if case .error(let message) = self { throw .server(message) }
        return self
    }
}
