public import Foundation
public import Redis
import Synchronization
import UUIDText

/// ``JobQueue`` on Redis: each operation is one script, so one round trip, whatever the number
/// of jobs it carries — the worker claims, renews and acknowledges in batches.
///
/// The driver owns what the queue needs of Redis besides the pooled client: the connections idle
/// workers block on (``waitForWork(timeout:)``), the pub/sub subscriptions behind
/// ``completions()`` and ``cancellations()``, and the key layout (``QueueKeys``).
public struct RedisJobQueue: JobQueue {
    let redis: RedisClient
    /// Every key and channel of this queue.
    public let keys: QueueKeys
    private let waitConnections: WaitConnections

    public init(redis: RedisClient, name: String = "q") {
        self.redis = redis
        self.keys = QueueKeys(name: name)
        self.waitConnections = WaitConnections(redis: redis)
    }

    /// The scripts' `KEYS`: the hash tag, from which they build every key.
    private var scriptKeys: [RedisArgument] { [RedisArgument(keys.tag)] }

    @discardableResult
    public func enqueue(_ jobs: [QueuedJob]) async throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        let arguments = jobs.flatMap {
            [
                RedisArgument($0.jobID.lowercasedString), RedisArgument($0.teamID), RedisArgument(Self.clamp($0.priority)),
                RedisArgument($0.retryAt.map(\.queueMilliseconds) ?? 0),
            ]
        }
        return try await redis.run(QueueScripts.enqueue, keys: scriptKeys, arguments: arguments).int ?? 0
    }

    public func claim(max: Int, lease: Duration) async throws -> ClaimResult {
        let tokens = (0..<max).map { _ in UUID.random() }
        let reply = try await redis.run(
            QueueScripts.claim,
            keys: scriptKeys,
            arguments: [RedisArgument(lease.milliseconds), RedisArgument(max)] + tokens.map { RedisArgument($0.lowercasedString) }
        )
        if let values = reply.array, values.count == 1, values[0].string == "paused" {
            return ClaimResult(claims: [], nextRetryDue: nil, paused: true)
        }
        guard let values = reply.array, let last = values.last?.int else {
            throw RedisError.unexpectedReply("claim: \(reply)")
        }
        var claims: [Claim] = []
        var index = 0
        // Pairs of (job, token), then one trailing number.
        while index + 2 <= values.count - 1 {
            if let id = values[index].string.flatMap(UUIDText.parse), let token = values[index + 1].string.flatMap(UUIDText.parse) {
                claims.append(Claim(jobID: id, token: token))
            }
            index += 2
        }
        return ClaimResult(claims: claims, nextRetryDue: last < 0 ? nil : .milliseconds(last))
    }

    public func renew(_ claims: [Claim], lease: Duration) async throws -> Set<UUID> {
        guard !claims.isEmpty else { return [] }
        let reply = try await redis.run(
            QueueScripts.renew,
            keys: scriptKeys,
            arguments: [RedisArgument(lease.milliseconds)]
                + claims.flatMap { [RedisArgument($0.jobID.lowercasedString), RedisArgument($0.token.lowercasedString)] }
        )
        return Set((reply.array ?? []).compactMap { $0.string.flatMap(UUIDText.parse) })
    }

    public func finish(acknowledge claims: [Claim], completed: [UUID], requeue requeues: [Requeue]) async throws {
        guard !claims.isEmpty || !completed.isEmpty || !requeues.isEmpty else { return }
        var arguments: [RedisArgument] = [
            RedisArgument(completed.map(\.lowercasedString).joined(separator: ",")), RedisArgument(claims.count),
        ]
        for claim in claims {
            arguments.append(RedisArgument(claim.jobID.lowercasedString))
            arguments.append(RedisArgument(claim.token.lowercasedString))
        }
        for requeue in requeues {
            arguments.append(RedisArgument(requeue.claim.jobID.lowercasedString))
            arguments.append(RedisArgument(requeue.claim.token.lowercasedString))
            arguments.append(RedisArgument(max(0, requeue.delay.milliseconds)))
        }
        try await redis.run(QueueScripts.finish, keys: scriptKeys, arguments: arguments)
    }

    public func remove(_ jobIDs: [UUID], completed: [UUID]) async throws {
        guard !jobIDs.isEmpty || !completed.isEmpty else { return }
        try await redis.run(
            QueueScripts.remove,
            keys: scriptKeys,
            arguments: [RedisArgument(completed.map(\.lowercasedString).joined(separator: ","))] + jobIDs.map { RedisArgument($0.lowercasedString) }
        )
    }

    public func reset(_ jobs: [QueuedJob]) async throws {
        guard !jobs.isEmpty else { return }
        try await redis.run(
            QueueScripts.reset,
            keys: scriptKeys,
            arguments: jobs.flatMap { [RedisArgument($0.jobID.lowercasedString), RedisArgument($0.teamID), RedisArgument(Self.clamp($0.priority))] }
        )
    }

    public func suspend(teamID: String) async throws {
        try await redis.run(QueueScripts.suspend, keys: scriptKeys, arguments: [RedisArgument(teamID), "1"])
    }

    public func resume(teamID: String) async throws {
        try await redis.run(QueueScripts.suspend, keys: scriptKeys, arguments: [RedisArgument(teamID), "0"])
    }

    public func held(_ jobIDs: [UUID]) async throws -> Set<UUID> {
        guard !jobIDs.isEmpty else { return [] }
        let reply = try await redis.run(QueueScripts.held, keys: scriptKeys, arguments: jobIDs.map { RedisArgument($0.lowercasedString) })
        return Set((reply.array ?? []).compactMap { $0.string.flatMap(UUIDText.parse) })
    }

    public func setConcurrencyCap(teamID: String, cap: Int?) async throws {
        try await redis.run(QueueScripts.setCap, keys: scriptKeys, arguments: [RedisArgument(teamID), RedisArgument(max(0, cap ?? 0))])
    }

    public func waitingCount(teamID: String) async throws -> Int {
        try await redis.run(QueueScripts.waiting, keys: scriptKeys, arguments: [RedisArgument(teamID)]).int ?? 0
    }

    @discardableResult
    public func reconcileConcurrencyCaps(_ caps: [String: Int]) async throws -> Int {
        let arguments = caps.filter { $0.value > 0 }.sorted { $0.key < $1.key }.flatMap { [RedisArgument($0.key), RedisArgument($0.value)] }
        return try await redis.run(QueueScripts.reconcileCaps, keys: scriptKeys, arguments: arguments).int ?? 0
    }

    @discardableResult
    public func reconcileSuspended(_ suspendedTeams: [String], grace: Duration) async throws -> (parked: Int, unparked: Int) {
        let reply = try await redis.run(
            QueueScripts.reconcileSuspended,
            keys: scriptKeys,
            arguments: [RedisArgument(max(0, grace.milliseconds))] + suspendedTeams.map { RedisArgument($0) }
        )
        let counts = reply.array?.compactMap(\.int) ?? []
        guard counts.count == 2 else { throw RedisError.unexpectedReply("reconcileSuspended: \(reply)") }
        return (counts[0], counts[1])
    }

    public func expiredLeases(olderThan grace: Duration, offset: Int, limit: Int) async throws -> [UUID] {
        let reply = try await redis.run(
            QueueScripts.expiredLeases,
            keys: scriptKeys,
            arguments: [RedisArgument(max(0, grace.milliseconds)), RedisArgument(max(0, offset)), RedisArgument(max(1, limit))]
        )
        return (reply.array ?? []).compactMap { $0.string.flatMap(UUIDText.parse) }
    }

    public func sweepMarker() async throws -> SweepMarker {
        try Self.marker(try await redis.run(QueueScripts.sweepMarker, keys: scriptKeys, arguments: []))
    }

    public func beginFullReenqueue() async throws -> SweepMarker {
        try Self.marker(
            try await redis.run(QueueScripts.sweepMarker, keys: scriptKeys, arguments: ["begin", RedisArgument(UUID.random().lowercasedString)])
        )
    }

    @discardableResult
    public func advanceSweepMarker(epoch: String, watermark: Date) async throws -> Bool {
        let reply = try await redis.run(
            QueueScripts.sweepMarker,
            keys: scriptKeys,
            arguments: ["advance", RedisArgument(epoch), RedisArgument(watermark.queueMilliseconds)]
        )
        return try Self.marker(reply).watermark.map(\.queueMilliseconds) == watermark.queueMilliseconds
    }

    private static func marker(_ reply: RedisValue) throws -> SweepMarker {
        guard let values = reply.array, values.count == 2 else { throw RedisError.unexpectedReply("sweepMarker: \(reply)") }
        let watermark = values[1].string.flatMap(Int.init).map { Date(timeIntervalSince1970: Double($0) / 1000) }
        return SweepMarker(epoch: values[0].string, watermark: watermark)
    }

    public func publishCancel(_ jobID: UUID) async throws {
        try await redis.send("PUBLISH", RedisArgument(keys.cancelChannel), RedisArgument(jobID.lowercasedString))
    }

    @discardableResult
    public func setPaused(_ paused: Bool) async throws -> QueuePause {
        try Self.pause(try await redis.run(QueueScripts.pause, keys: scriptKeys, arguments: [paused ? "1" : "0"]))
    }

    public func reconcilePause(_ paused: Bool, grace: Duration) async throws -> Bool {
        let reply = try await redis.run(
            QueueScripts.reconcilePause,
            keys: scriptKeys,
            arguments: [paused ? "1" : "0", RedisArgument(max(0, grace.milliseconds))]
        )
        return reply.int == 1
    }

    public func pauseState() async throws -> QueuePause {
        let reply = try await redis.send("HMGET", RedisArgument(keys.pause), "paused", "since")
        guard let values = reply.array, values.count == 2 else { throw RedisError.unexpectedReply("pauseState: \(reply)") }
        return QueuePause(paused: values[0].string == "1", since: values[1].int.map(Date.init(queueMilliseconds:)))
    }

    /// The pause script's {paused "1"/"0", since ms or "", changed 0/1}.
    private static func pause(_ reply: RedisValue) throws -> QueuePause {
        guard let values = reply.array, values.count == 3 else { throw RedisError.unexpectedReply("pause: \(reply)") }
        return QueuePause(
            paused: values[0].string == "1",
            since: values[1].int.map(Date.init(queueMilliseconds:)),
            changed: values[2].int == 1
        )
    }

    public func pauseChanges() -> AsyncStream<Bool> {
        RedisSubscription.stream(configuration: redis.configuration, channels: [keys.pauseChannel], logger: redis.logger) { message in
            [message.payload == "1"]
        }
    }

    /// Blocks in `BLMOVE` on the list of teams with ready jobs (rotating it, as a claim does).
    /// Blocking commands cannot run inside scripts, so an idle claim is this block, then a claim.
    /// The command runs on a connection of its own, without a read timeout; cancelling the task
    /// unblocks it with `CLIENT UNBLOCK`.
    public func waitForWork(timeout: Duration) async throws {
        let seconds = max(0.01, Double(timeout.milliseconds) / 1000)
        let connection = waitConnections.take()
        defer { waitConnections.put(connection) }
        _ = try await connection.send(
            "BLMOVE",
            RedisArgument(keys.teams),
            RedisArgument(keys.teams),
            "LEFT",
            "RIGHT",
            RedisArgument(String(format: "%.3f", seconds))
        )
    }

    public func completions() -> AsyncStream<UUID> {
        RedisSubscription.stream(configuration: redis.configuration, channels: [keys.completedChannel], logger: redis.logger) { message in
            // Settled together, announced together: one message per batch.
            message.payload.split(separator: ",").compactMap { UUIDText.parse(String($0)) }
        }
    }

    public func cancellations() -> AsyncStream<UUID> {
        RedisSubscription.stream(configuration: redis.configuration, channels: [keys.cancelChannel], logger: redis.logger) { message in
            UUIDText.parse(message.payload).map { [$0] } ?? []
        }
    }

    /// A Redis that may evict keys under memory pressure would drop jobs, leases and markers
    /// silently (SYSTEM.md: noeviction).
    public func durabilityProblem() async throws -> String? {
        let reply = try await redis.send("CONFIG", "GET", "maxmemory-policy")
        let policy = reply.array?.last?.string
        return policy == "noeviction" ? nil : "Redis runs with maxmemory-policy \(policy ?? "unknown"); the queue needs noeviction"
    }

    /// Every round trip of the client the queue runs on — heartbeats and provider health included,
    /// as SYSTEM.md's "round trips per job" counts them.
    public var roundTrips: Int? { redis.roundTripCount }

    private static func clamp(_ priority: Int) -> Int { min(9, max(0, priority)) }
}

/// The blocking connections of one queue: one per concurrent wait (a worker has one claimer, so
/// one in all), kept between waits.
private final class WaitConnections: Sendable {
    private let redis: RedisClient
    private let idle = Mutex<[RedisBlockingConnection]>([])

    init(redis: RedisClient) {
        self.redis = redis
    }

    func take() -> RedisBlockingConnection {
        idle.withLock { $0.popLast() } ?? redis.makeBlockingConnection(name: "queue-wait")
    }

    func put(_ connection: RedisBlockingConnection) {
        idle.withLock { $0.append(connection) }
    }
}

extension UUID {
    /// The canonical lowercase text, as stored in Redis and PostgreSQL.
    public var lowercasedString: String { UUIDText.lowercased(self) }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
