import Backoff
public import Logging
public import Metrics
import Synchronization
import Telemetry

/// The async face of PostgreSQL: a bounded pool of non-blocking libpq connections, each used by
/// one task at a time, whose waits for the server are ``PostgresReactor``'s.
///
/// Callers beyond the pool's size wait in line for a connection (first come, first served;
/// cancelling a waiting task takes it out of the line), so exhaustion slows callers down but never
/// deadlocks them — as long as no caller holds one connection while waiting for a second. The
/// line is bounded when the configuration says so (`maxWaiters`, `acquireTimeout`): past either a
/// caller gets ``PostgresPoolError`` instead of an ever longer wait.
public final class PostgresClient: Sendable {
    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    public let configuration: PostgresConfiguration
    let logger: Logger
    private let pool: Pool
    /// `saas_postgres_transactions_total`, one counter per kind, made once.
    private let transactions: [PostgresTransactionKind: Counter]
    /// `saas_postgres_transaction_duration_seconds`, BEGIN to the end of COMMIT (or ROLLBACK),
    /// one timer per kind: how long a transaction's locks — a team's account row — are held.
    private let durations: [PostgresTransactionKind: Timer]

    public init(
        configuration: PostgresConfiguration,
        logger: Logger = Logger(label: "postgres"),
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.configuration = configuration
        self.logger = logger
        self.pool = Pool(configuration: configuration)
        var transactions: [PostgresTransactionKind: Counter] = [:]
        var durations: [PostgresTransactionKind: Timer] = [:]
        for kind in PostgresTransactionKind.allCases {
            transactions[kind] = Counter(
                label: MetricName.postgresTransactions,
                dimensions: [(MetricLabel.kind, kind.rawValue)],
                factory: metrics
            )
            durations[kind] = Timer(
                label: MetricName.postgresTransactionDuration,
                dimensions: [(MetricLabel.kind, kind.rawValue)],
                factory: metrics
            )
        }
        self.transactions = transactions
        self.durations = durations
    }

    /// Runs one statement on any pooled connection.
    @discardableResult
    public func query(_ sql: String, _ binds: [PostgresBind] = []) async throws -> PostgresRows {
        try await withConnection { try await $0.query(sql, binds) }
    }

    /// Runs a statement built elsewhere (its SQL and binds together) on any pooled connection.
    @discardableResult
    public func query(_ statement: PostgresStatement) async throws -> PostgresRows {
        try await query(statement.sql, statement.binds)
    }

    /// Lends one connection for the duration of `body`.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        let connection = try await pool.acquire()
        defer { pool.release(connection) }
        return try await body(PostgresSession(connection: connection))
    }

    /// Runs `body` in one transaction: commits when it returns, rolls back when it throws.
    ///
    /// Serialization failures, deadlocks and a connection lost before `COMMIT` roll the whole
    /// transaction back on the server, so it is run again (up to `maxAttempts` times): `body` must
    /// be safe to repeat, which it is when its only effects are its statements. A connection lost
    /// during `COMMIT` is ``PostgresError/commitOutcomeUnknown(_:)`` and is not retried.
    ///
    /// Each attempt counts once in `saas_postgres_transactions_total` under `kind`, and its time
    /// from BEGIN to the end of COMMIT in `saas_postgres_transaction_duration_seconds`.
    public func withTransaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        maxAttempts: Int = 5,
        kind: PostgresTransactionKind = .other,
        _ body: (PostgresSession) async throws -> T
    ) async throws -> T {
        try await withPipelinedTransaction(isolation: isolation, maxAttempts: maxAttempts, kind: kind) { session in
            PostgresCommit([], value: try await body(session))
        }
    }

    /// ``withTransaction(isolation:maxAttempts:kind:_:)`` whose body hands back its last writes
    /// (``PostgresCommit``): they go out with `COMMIT` as one pipeline, one round trip and one
    /// send, so the locks taken before them are held for one round
    /// trip more rather than one per statement. The semantics are those of `withTransaction`: a
    /// failing statement rolls everything back and its error (with its SQLSTATE) is thrown, after
    /// a retry when it is transient; a connection lost once `COMMIT` was sent is
    /// ``PostgresError/commitOutcomeUnknown(_:)``.
    public func withPipelinedTransaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        maxAttempts: Int = 5,
        kind: PostgresTransactionKind = .other,
        _ body: (PostgresSession) async throws -> PostgresCommit<T>
    ) async throws -> T {
        let counter = transactions[kind]
        let timer = durations[kind]
        // Full jitter, growing: up to 4 ms, then 8, 16 … 64, never under ½ ms, so contenders
        // fall out of step.
        let retry = RetryPolicy(base: .milliseconds(4), cap: .milliseconds(64), maxAttempts: maxAttempts, floor: .microseconds(500))
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    // BEGIN is sent with the body's first statement (or with COMMIT), not alone.
                    let session = PostgresSession(
                        connection: connection.connection,
                        pendingBegin: PendingBegin("BEGIN ISOLATION LEVEL \(isolation.rawValue)")  // a constant of the enum
                    )
                    counter?.increment()
                    let began = ContinuousClock.now
                    defer { timer?.record(duration: ContinuousClock.now - began) }
                    let commit: PostgresCommit<T>
                    do {
                        commit = try await body(session)
                    } catch {
                        await session.rollback()
                        throw error
                    }
                    if commit.statements.isEmpty {
                        try await session.commit()
                        return try commit.finish([])
                    }
                    return try commit.finish(try await session.commit(pipelining: commit.statements))
                }
            } catch let error as PostgresError where error.isTransient && retry.allowsRetry(after: attempt) {
                logger.debug("transaction retried", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: retry.delay(afterAttempt: attempt))
                attempt += 1
            }
        }
    }

    /// Closes every connection. Callers still waiting get ``PostgresError/shutdown``.
    public func shutdown() {
        pool.shutdown()
    }
}

/// One pooled connection lent to a caller. Statements run in order, sent and read by the calling
/// task itself (suspended, not blocked, while the server works).
///
/// In a transaction, `BEGIN` is not sent on its own: the transaction's first statement (or
/// pipeline, or its COMMIT) carries it, in the same hand-off and round trip.
public struct PostgresSession: Sendable {
    let connection: PostgresConnection
    /// The transaction's `BEGIN` until something carries it; nil outside a transaction.
    let pendingBegin: PendingBegin?

    init(connection: PostgresConnection, pendingBegin: PendingBegin? = nil) {
        self.connection = connection
        self.pendingBegin = pendingBegin
    }

    /// Runs one statement with bound parameters.
    @discardableResult
    public func query(_ sql: String, _ binds: [PostgresBind] = []) async throws -> PostgresRows {
        let begin = pendingBegin?.take()
        return try await exclusively { connection in try await connection.query(sql, binds, begin: begin) }
    }

    /// Runs a statement built elsewhere (its SQL and binds together).
    @discardableResult
    public func query(_ statement: PostgresStatement) async throws -> PostgresRows {
        try await query(statement.sql, statement.binds)
    }

    /// Runs several statements as one pipeline: one hand-off, one round trip, their rows in
    /// order. In a transaction they run in it (a failure aborts it, for its owner to roll back);
    /// outside one they are one implicit transaction, all or none. The first failing statement's
    /// error is thrown; the statements after it were not run.
    @discardableResult
    public func pipeline(_ statements: [PostgresStatement]) async throws -> [PostgresRows] {
        guard !statements.isEmpty else { return [] }
        let begin = pendingBegin?.take()
        return try await exclusively { connection in try await connection.pipeline(statements, begin: begin) }
    }

    /// Runs parameterless SQL text, possibly several statements. For migrations only; values are
    /// always bound with ``query(_:_:)``.
    @discardableResult
    public func executeScript(_ sql: String) async throws -> PostgresRows {
        let begin = pendingBegin?.take()
        return try await exclusively { connection in
            if let begin { try await connection.begin(begin) } else { try await connection.connectIfNeeded() }
            return try await connection.executeSimple(sql)
        }
    }

    /// Commits; nothing to do (and nothing sent) when no statement ever began the transaction.
    func commit() async throws {
        guard pendingBegin?.take() == nil else { return }
        try await exclusively { connection in try await connection.commit() }
    }

    func commit(pipelining statements: [PostgresStatement]) async throws -> [PostgresRows] {
        let begin = pendingBegin?.take()
        return try await exclusively { connection in try await connection.commit(pipelining: statements, begin: begin) }
    }

    /// Rolls back; nothing to do when no statement ever began the transaction.
    func rollback() async {
        guard pendingBegin?.take() == nil else { return }
        _ = try? await exclusively { connection in await connection.rollback() }
    }

    /// Runs `body` on the connection, one caller at a time (asserted in debug builds): each call
    /// is one hand-off of work to the connection, counted for the tests.
    private func exclusively<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        connection.enter()
        defer { connection.leave() }
        connection.handOffs += 1
        return try await body(connection)
    }

    /// The connection's hand-offs and round trips so far (read without counting as either).
    var exchanges: (handOffs: Int, roundTrips: Int) {
        get async throws { (connection.handOffs, connection.roundTrips) }
    }
}

/// A transaction's `BEGIN ISOLATION LEVEL …`, held until the first call that sends anything takes
/// it along (a lock, since the session is a value its body may hand around).
final class PendingBegin: Sendable {
    private let sql: Mutex<String?>

    init(_ sql: String) {
        self.sql = Mutex(sql)
    }

    /// The `BEGIN` to send now, once: nil when an earlier call already sent it.
    func take() -> String? {
        sql.withLock { sql in
            defer { sql = nil }
            return sql
        }
    }
}

extension PostgresClient {
    final class Pool: Sendable {
        private struct Waiter {
            let id: Int
            let continuation: CheckedContinuation<PostgresConnection, any Error>
        }

        private struct State {
            var idle: [PostgresConnection] = []
            var created = 0
            var waiters: [Waiter] = []
            var nextWaiterID = 0
            var closed = false
        }

        private enum Decision {
            case use(PostgresConnection)
            case create
            case wait
            case closed
        }

        private let configuration: PostgresConfiguration
        private let state = Mutex(State())

        init(configuration: PostgresConfiguration) {
            self.configuration = configuration
        }

        func acquire() async throws -> PostgresConnection {
            let decision: Decision = state.withLock { state in
                if state.closed { return .closed }
                if let connection = state.idle.popLast() { return .use(connection) }
                if state.created < max(1, configuration.poolSize) {
                    state.created += 1
                    return .create
                }
                return .wait
            }
            switch decision {
            case .use(let connection):
                return connection
            case .create:
                // Connecting happens lazily, at its first statement.
                return PostgresConnection(configuration: configuration)
            case .closed:
                throw PostgresError.shutdown
            case .wait:
                return try await waitForConnection()
            }
        }

        private func waitForConnection() async throws -> PostgresConnection {
            let id = state.withLock { state in
                state.nextWaiterID += 1
                return state.nextWaiterID
            }
            // The deadline: a timer that takes this waiter out of the line if it is still in it.
            let timer = configuration.acquireTimeout.map { seconds in
                Task { [weak self] in
                    try await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
                    self?.removeWaiter(id, throwing: PostgresPoolError.acquireTimedOut(seconds: seconds))
                }
            }
            defer { timer?.cancel() }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PostgresConnection, any Error>) in
                    let immediate: Result<PostgresConnection, any Error>? = state.withLock { state in
                        if state.closed { return .failure(PostgresError.shutdown) }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        if let connection = state.idle.popLast() { return .success(connection) }
                        if let limit = configuration.maxWaiters, state.waiters.count >= limit {
                            return .failure(PostgresPoolError.waitLineFull(limit: limit))
                        }
                        state.waiters.append(Waiter(id: id, continuation: continuation))
                        return nil
                    }
                    if let immediate { continuation.resume(with: immediate) }
                }
            } onCancel: {
                removeWaiter(id, throwing: CancellationError())
            }
        }

        /// Takes a waiter out of the line (cancelled, or past its deadline); nothing when a
        /// connection already reached it.
        private func removeWaiter(_ id: Int, throwing error: any Error) {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: error)
        }

        /// Callers waiting for a connection now (for tests and metrics).
        var waiting: Int {
            state.withLock { $0.waiters.count }
        }

        func release(_ connection: PostgresConnection) {
            let waiter: Waiter? = state.withLock { state in
                if state.closed { return nil }
                if !state.waiters.isEmpty { return state.waiters.removeFirst() }
                state.idle.append(connection)
                return nil
            }
            if let waiter {
                waiter.continuation.resume(returning: connection)
            } else if state.withLock({ $0.closed }) {
                Self.close(connection)
            }
        }

        func shutdown() {
            let (idle, waiters) = state.withLock { state in
                state.closed = true
                defer {
                    state.idle = []
                    state.waiters = []
                }
                return (state.idle, state.waiters)
            }
            for waiter in waiters { waiter.continuation.resume(throwing: PostgresError.shutdown) }
            for connection in idle { Self.close(connection) }
        }

        private static func close(_ connection: PostgresConnection) {
            connection.close()
        }
    }
}
