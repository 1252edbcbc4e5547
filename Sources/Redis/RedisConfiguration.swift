/// Where and how to reach Redis. The application reads it from `REDIS_URL`
/// (`redis://[user:password@]host[:port][/db]`; see `RedisConfiguration+URL.swift` in `Shared`).
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// Connect timeout in seconds.
    public var connectTimeout: Double
    /// Read/write timeout in seconds for ordinary commands. Blocking commands use connections
    /// without one (see ``RedisBlockingConnection``).
    public var commandTimeout: Double
    /// Connections in the pool for ordinary commands. Commands from concurrent callers are
    /// pipelined on each connection, so a few connections carry a lot of traffic.
    public var poolSize: Int

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Double = 2,
        commandTimeout: Double = 5,
        poolSize: Int = 4
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.poolSize = poolSize
    }
}
