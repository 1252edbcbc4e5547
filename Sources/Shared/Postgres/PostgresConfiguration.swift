/// Where and how to reach PostgreSQL.
public struct PostgresConfiguration: Sendable, Equatable {
    /// A libpq connection string or URL (`postgresql://user:password@host:port/db`), handed to
    /// libpq as is: every libpq parameter (`sslmode`, `target_session_attrs`, …) works.
    public var url: String
    /// Connections in the pool; callers beyond it wait for one to come back.
    public var poolSize: Int
    public var connectTimeout: Double
    /// Shown in `pg_stat_activity`.
    public var applicationName: String

    public init(url: String, poolSize: Int = 10, connectTimeout: Double = 5, applicationName: String = "saas") {
        self.url = url
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
    }
}
