import Foundation

/// Where and how to reach Redis: parsed from `REDIS_URL` (`redis://[user:password@]host[:port][/db]`).
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

    /// Parses a `redis://` URL. TLS (`rediss://`) is refused: hiredis 0.14 does not speak it (run a
    /// TLS sidecar and point the URL at it).
    public init(url: String) throws(ConfigurationError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme else {
            throw .invalid(variable: "REDIS_URL", reason: "is not a URL (expected redis://host:port/db)")
        }
        guard scheme == "redis" else {
            throw .invalid(variable: "REDIS_URL", reason: "scheme '\(scheme)' is not supported (expected redis://)")
        }
        self.init()
        if let host = components.host, !host.isEmpty { self.host = host }
        if let port = components.port { self.port = port }
        if let user = components.user, !user.isEmpty { self.username = user.removingPercentEncoding ?? user }
        if let password = components.password, !password.isEmpty {
            self.password = password.removingPercentEncoding ?? password
        }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let db = Int(path), db >= 0 else {
                throw .invalid(variable: "REDIS_URL", reason: "database '\(path)' is not a number")
            }
            self.database = db
        }
    }
}
