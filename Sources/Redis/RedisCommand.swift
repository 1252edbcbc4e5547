/// One Redis command, binary safe: its arguments are kept as one contiguous byte buffer plus their
/// lengths, which is exactly what `redisAppendCommandArgv` wants (one allocation, no C strings).
public struct RedisCommand: Sendable, Hashable {
    var bytes: [UInt8]
    var lengths: [Int]

    public init(_ arguments: [RedisArgument]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(arguments.reduce(0) { $0 + $1.bytes.count })
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            bytes.append(contentsOf: argument.bytes)
            lengths.append(argument.bytes.count)
        }
        self.bytes = bytes
        self.lengths = lengths
    }

    public init(_ name: String, _ arguments: RedisArgument...) {
        self.init([RedisArgument(name)] + arguments)
    }

    public init(_ name: String, _ arguments: [RedisArgument]) {
        self.init([RedisArgument(name)] + arguments)
    }

    /// The command's name, for logs and metrics (never its arguments, which may hold content).
    public var name: String {
        guard let first = lengths.first else { return "" }
        return String(decoding: bytes[0..<first], as: UTF8.self).uppercased()
    }
}

/// One argument of a ``RedisCommand``: text, an integer or raw bytes.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public var bytes: [UInt8]

    public init(_ string: String) { self.bytes = Array(string.utf8) }
    public init(_ int: Int) { self.bytes = Array(String(int).utf8) }
    public init(_ double: Double) { self.bytes = Array(String(double).utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}
