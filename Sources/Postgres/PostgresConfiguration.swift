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
    /// The most callers waiting for a connection; one more is refused at once with
    /// ``PostgresPoolError/waitLineFull(limit:)``. nil: no bound.
    public var maxWaiters: Int?
    /// The longest a caller waits for a connection before ``PostgresPoolError/acquireTimedOut(seconds:)``.
    /// nil: no bound.
    public var acquireTimeout: Double?

    public init(
        url: String,
        poolSize: Int = 10,
        connectTimeout: Double = 5,
        applicationName: String = "saas",
        maxWaiters: Int? = nil,
        acquireTimeout: Double? = nil
    ) {
        self.url = url
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
        self.maxWaiters = maxWaiters
        self.acquireTimeout = acquireTimeout
    }
}
