import DedicatedThreads
public import Logging
public import Metrics
import Synchronization
import Telemetry

/// The async face of Redis for ordinary (non-blocking) commands: a fixed pool of hiredis
/// connections, each on its own thread.
///
/// Concurrent callers are pipelined automatically: whatever piles up for a connection while it
/// waits for Redis goes out as one write and comes back as one read, so throughput grows with
/// concurrency instead of with the number of connections. Every call — one command, a pipeline or
/// a script — is one round trip, counted in ``roundTripCount``.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let workers: [Worker]
    private let nextWorker = Atomic<Int>(0)
    private let roundTrips = Atomic<Int>(0)
    /// `saas_redis_round_trips_total`: one counter, made once.
    private let roundTripCounter: Counter
    /// The client's logger, also handed to the subscriptions its users open next to it.
    public let logger: Logger

    public init(
        configuration: RedisConfiguration,
        logger: Logger = Logger(label: "redis"),
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.configuration = configuration
        self.logger = logger
        self.roundTripCounter = Counter(label: MetricName.redisRoundTrips, factory: metrics)
        self.workers = (0..<max(1, configuration.poolSize)).map { index in
            Worker(
                connection: RedisConnection(
                    configuration: configuration,
                    readTimeout: configuration.commandTimeout,
                    thread: DedicatedThread(name: "redis-\(index)")
                )
            )
        }
    }

    deinit {
        for worker in workers { worker.stop() }
    }

    /// Round trips made through this client and its blocking connections since it started.
    /// The benchmark for "Redis round trips per job" reads it.
    public var roundTripCount: Int { roundTrips.load(ordering: .relaxed) }

    /// Sends one command; an error reply is thrown as ``RedisError/server(_:)``.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        try await roundTrip([command])[0].throwingError()
    }

    /// Sends one command built from its name and arguments.
    @discardableResult
    public func send(_ name: String, _ arguments: RedisArgument...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments))
    }

    /// Sends the commands as one pipeline, in order, on one connection, and returns their replies.
    /// An error reply is one command's answer (``RedisValue/error(_:)``) and does not fail the rest.
    /// A `MULTI` … `EXEC` inside one pipeline is not interleaved with other callers' commands.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        return try await roundTrip(commands)
    }

    /// Runs a Lua script by `EVALSHA`, loading it first when Redis does not know it.
    @discardableResult
    public func run(_ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument] = []) async throws -> RedisValue {
        let evalsha = Self.evalsha(script, keys: keys, arguments: arguments)
        let reply = try await roundTrip([evalsha])[0]
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            let replies = try await roundTrip([RedisCommand("SCRIPT", "LOAD", RedisArgument(script.source)), evalsha])
            _ = try replies[0].throwingError()
            return try replies[1].throwingError()
        }
        return try reply.throwingError()
    }

    /// A dedicated connection without a read timeout, for commands that wait (`BLMOVE`,
    /// `BZPOPMIN`, …). hiredis treats a read timeout as a dead connection, so such commands must
    /// never run on the pooled connections.
    public func makeBlockingConnection(name: String = "redis-blocking") -> RedisBlockingConnection {
        RedisBlockingConnection(
            connection: RedisConnection(configuration: configuration, readTimeout: nil, thread: DedicatedThread(name: name)),
            client: self
        )
    }

    /// Stops the connection threads after the commands already queued.
    public func shutdown() {
        for worker in workers { worker.stop() }
    }

    static func evalsha(_ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument]) -> RedisCommand {
        RedisCommand("EVALSHA", [RedisArgument(script.sha1), RedisArgument(keys.count)] + keys + arguments)
    }

    func countRoundTrip() {
        roundTrips.add(1, ordering: .relaxed)
        roundTripCounter.increment()
    }

    private func roundTrip(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        countRoundTrip()
        let index = nextWorker.add(1, ordering: .relaxed).newValue
        return try await workers[index % workers.count].send(commands)
    }
}

extension RedisClient {
    /// One pooled connection: callers queue their commands; the connection's thread takes
    /// everything queued since its last round trip and pipelines it.
    final class Worker: Sendable {
        private struct Request {
            var commands: [RedisCommand]
            var continuation: CheckedContinuation<[RedisValue], any Error>
        }

        private struct State {
            var requests: [Request] = []
            var flushScheduled = false
            var stopped = false
        }

        private let connection: RedisConnection
        private let state = Mutex(State())

        init(connection: RedisConnection) {
            self.connection = connection
        }

        func send(_ commands: [RedisCommand]) async throws -> [RedisValue] {
            try await withCheckedThrowingContinuation { continuation in
                let schedule: Bool? = state.withLock { state in
                    if state.stopped { return nil }
                    state.requests.append(Request(commands: commands, continuation: continuation))
                    if state.flushScheduled { return false }
                    state.flushScheduled = true
                    return true
                }
                switch schedule {
                case nil:
                    continuation.resume(throwing: RedisError.shutdown)
                case true?:
                    connection.thread.submit { [self] in self.flush() }
                case false?:
                    break
                }
            }
        }

        func stop() {
            // Everything still queued is answered now; a flush already scheduled finds nothing left.
            let pending = state.withLock { state in
                state.stopped = true
                defer { state.requests = [] }
                return state.requests
            }
            for request in pending { request.continuation.resume(throwing: RedisError.shutdown) }
            connection.thread.submit { [connection] in connection.close() }
            connection.thread.stop()
        }

        /// Runs on the connection's thread.
        private func flush() {
            let batch = state.withLock { state in
                state.flushScheduled = false
                defer { state.requests = [] }
                return state.requests
            }
            guard !batch.isEmpty else { return }
            let results = connection.execute(batch.map(\.commands))
            for (request, result) in zip(batch, results) {
                request.continuation.resume(with: result.mapError { $0 as any Error })
            }
        }
    }
}
