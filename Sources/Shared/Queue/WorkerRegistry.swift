public import Foundation
public import Redis

/// What a worker says about itself in its heartbeats.
public struct WorkerInfo: Sendable, Hashable, Codable {
    public var workerID: String
    public var host: String
    public var pid: Int
    public var concurrency: Int
    public var inFlight: Int
    public var startedAt: Date
    public var lastSeen: Date
    public var draining: Bool

    enum CodingKeys: String, CodingKey {
        case workerID = "worker_id"
        case host, pid, concurrency
        case inFlight = "in_flight"
        case startedAt = "started_at"
        case lastSeen = "last_seen"
        case draining
    }

    public init(workerID: String, host: String, pid: Int, concurrency: Int, inFlight: Int, startedAt: Date, lastSeen: Date, draining: Bool) {
        self.workerID = workerID
        self.host = host
        self.pid = pid
        self.concurrency = concurrency
        self.inFlight = inFlight
        self.startedAt = startedAt
        self.lastSeen = lastSeen
        self.draining = draining
    }
}

/// An admin's change of one worker's concurrency: the number of jobs it runs at once, and the
/// change's version (later changes have higher ones), so a worker that hears an announcement and
/// then reads an older stored value back keeps the later one.
///
/// Versions grow even across a loss of Redis's data: a version is Redis's clock in microseconds,
/// or one more than the last version when that is higher (two changes in one microsecond, or a
/// clock that stepped back). A counter alone would start again at 1 after a flush, and a live
/// worker that had applied version 5 would ignore versions 1 to 5. Whole microseconds, not
/// milliseconds × 1000: a flush and a change can come within the millisecond of the last change
/// (CI did), and the flush took the counter that would have told them apart.
public struct ConcurrencyRequest: Sendable, Hashable {
    public var version: Int
    public var concurrency: Int

    public init(version: Int, concurrency: Int) {
        self.version = version
        self.concurrency = concurrency
    }

    /// What a worker's concurrency may be, at start (`WORKER_CONCURRENCY`) or changed by an admin.
    public static let range: ClosedRange<Int> = 1...10_000

    /// `version|concurrency`, as stored.
    init?(stored: String) {
        let parts = stored.split(separator: "|")
        guard parts.count == 2, let version = Int(parts[0]), let concurrency = Int(parts[1]) else { return nil }
        self.init(version: version, concurrency: concurrency)
    }
}

/// A concurrency change announced to the workers (each keeps those naming itself).
public struct ConcurrencyAnnouncement: Sendable, Hashable {
    public var workerID: String
    public var request: ConcurrencyRequest

    public init(workerID: String, request: ConcurrencyRequest) {
        self.workerID = workerID
        self.request = request
    }

    /// `worker|version|concurrency` (the id may hold `|`: the last two fields are read first).
    init?(payload: String) {
        guard let last = payload.lastIndex(of: "|"), let middle = payload[..<last].lastIndex(of: "|") else { return nil }
        guard let request = ConcurrencyRequest(stored: String(payload[payload.index(after: middle)...])) else { return nil }
        self.init(workerID: String(payload[..<middle]), request: request)
    }
}

/// What a heartbeat learns back: whether an admin asked the worker to drain, and the latest
/// concurrency an admin asked of it (nil: none since it started).
public struct HeartbeatAnswer: Sendable, Hashable {
    public var drain: Bool
    public var concurrency: ConcurrencyRequest?

    public init(drain: Bool, concurrency: ConcurrencyRequest? = nil) {
        self.drain = drain
        self.concurrency = concurrency
    }
}

/// How an admin's concurrency change ended.
public enum ConcurrencyChange: Sendable, Hashable {
    /// Stored and announced; the worker as its last heartbeat described it.
    case changed(WorkerInfo)
    /// No such worker is live.
    case notFound
    /// The worker is draining: it claims nothing more and exits, so the change was refused.
    case draining
}

/// Live workers, from their heartbeats in Redis: admins see them and can ask one to drain, and
/// the sweeper tells a dead worker's expired lease from a live one's.
///
/// Keys under the queue's hash tag `p` (see ``QueueKeys``): `p:workers` (id → info),
/// `p:workers:seen` (id → last heartbeat, ms), `p:workers:until` (id → when the worker counts as
/// gone, ms: its last heartbeat plus its own `staleAfter`, so a reader needs no configuration of
/// its own), `p:draining`, `p:workers:concurrency` (id → an admin's `version|concurrency`, read
/// back by each heartbeat; announced on `p:concurrency` too, for at once).
public struct WorkerRegistry: Sendable {
    let redis: RedisClient
    let keys: QueueKeys
    /// A worker not heard from for this long is gone.
    public let staleAfter: Duration

    public init(redis: RedisClient, queueName: String = "q", staleAfter: Duration = .seconds(15)) {
        self.redis = redis
        self.keys = QueueKeys(name: queueName)
        self.staleAfter = staleAfter
    }

    /// The registry of the workers serving `queue` (same Redis, same hash tag).
    public init(queue: RedisJobQueue, staleAfter: Duration = .seconds(15)) {
        self.redis = queue.redis
        self.keys = queue.keys
        self.staleAfter = staleAfter
    }

    /// The scripts' `KEYS`: the hash tag, from which they build the keys above.
    private var scriptKeys: [RedisArgument] { [RedisArgument(keys.tag)] }

    private static let heartbeat = RedisScript(
        """
        local p = KEYS[1]
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('HSET', p .. ':workers', ARGV[1], ARGV[2])
        redis.call('ZADD', p .. ':workers:seen', now, ARGV[1])
        redis.call('ZADD', p .. ':workers:until', now + tonumber(ARGV[3]), ARGV[1])
        local stale = redis.call('ZRANGEBYSCORE', p .. ':workers:seen', '-inf', now - tonumber(ARGV[3]))
        for _, id in ipairs(stale) do
          redis.call('ZREM', p .. ':workers:seen', id)
          redis.call('ZREM', p .. ':workers:until', id)
          redis.call('HDEL', p .. ':workers', id)
          redis.call('SREM', p .. ':draining', id)
          redis.call('HDEL', p .. ':workers:concurrency', id)
        end
        redis.call('ZREMRANGEBYSCORE', p .. ':workers:until', '-inf', now - tonumber(ARGV[3]))
        return {redis.call('SISMEMBER', p .. ':draining', ARGV[1]), redis.call('HGET', p .. ':workers:concurrency', ARGV[1]) or ''}
        """
    )

    private static let list = RedisScript(
        """
        local p = KEYS[1]
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local live = redis.call('ZRANGEBYSCORE', p .. ':workers:seen', now - tonumber(ARGV[1]), '+inf', 'WITHSCORES')
        local out = {}
        for i = 1, #live, 2 do
          out[#out + 1] = redis.call('HGET', p .. ':workers', live[i]) or ''
          out[#out + 1] = live[i + 1]
          out[#out + 1] = redis.call('SISMEMBER', p .. ':draining', live[i])
        end
        return out
        """
    )

    private static let drain = RedisScript(
        """
        local p = KEYS[1]
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local seen = redis.call('ZSCORE', p .. ':workers:seen', ARGV[1])
        if not seen or tonumber(seen) < now - tonumber(ARGV[2]) then return 0 end
        redis.call('SADD', p .. ':draining', ARGV[1])
        return 1
        """
    )

    private static let leave = RedisScript(
        """
        local p = KEYS[1]
        redis.call('ZREM', p .. ':workers:seen', ARGV[1])
        redis.call('ZREM', p .. ':workers:until', ARGV[1])
        redis.call('HDEL', p .. ':workers', ARGV[1])
        redis.call('SREM', p .. ':draining', ARGV[1])
        redis.call('HDEL', p .. ':workers:concurrency', ARGV[1])
        return 1
        """
    )

    /// ARGV: worker, concurrency, staleness ms. Returns {0} for no live worker, {2} for a draining
    /// one, else {1, its info JSON} after storing and announcing the change under a new version
    /// (see ``ConcurrencyRequest``: Redis's clock in µs, or the last one + 1). Lua's numbers are doubles:
    /// exact to 2^53, about 285 years of microseconds since 1970; `%d` writes them whole (`..`
    /// would write 1.7e+15).
    private static let setConcurrency = RedisScript(
        """
        local p = KEYS[1]
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local seen = redis.call('ZSCORE', p .. ':workers:seen', ARGV[1])
        if not seen or tonumber(seen) < now - tonumber(ARGV[3]) then return {0} end
        if redis.call('SISMEMBER', p .. ':draining', ARGV[1]) == 1 then return {2} end
        local last = tonumber(redis.call('GET', p .. ':workers:concurrency:version') or '0') or 0
        local micros = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local version = string.format('%d', math.max(micros, last + 1))
        redis.call('SET', p .. ':workers:concurrency:version', version)
        redis.call('HSET', p .. ':workers:concurrency', ARGV[1], version .. '|' .. ARGV[2])
        redis.call('PUBLISH', p .. ':concurrency', ARGV[1] .. '|' .. version .. '|' .. ARGV[2])
        return {1, redis.call('HGET', p .. ':workers', ARGV[1]) or ''}
        """
    )

    private static let alive = RedisScript(
        """
        local p = KEYS[1]
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local out = {}
        local live = redis.call('ZRANGEBYSCORE', p .. ':workers:until', now, '+inf', 'WITHSCORES')
        for i = 1, #live, 2 do
          local seen = redis.call('ZSCORE', p .. ':workers:seen', live[i])
          if seen then
            out[#out + 1] = live[i]
            out[#out + 1] = tonumber(seen)
            out[#out + 1] = tonumber(live[i + 1])
          end
        end
        return out
        """
    )

    /// Records a heartbeat; answers whether an admin asked this worker to drain, and the latest
    /// concurrency one asked of it.
    public func heartbeat(_ info: WorkerInfo) async throws -> HeartbeatAnswer {
        let json = String(decoding: try RedisJSON.encoder.encode(info), as: UTF8.self)
        let reply = try await redis.run(
            Self.heartbeat,
            keys: scriptKeys,
            arguments: [RedisArgument(info.workerID), RedisArgument(json), RedisArgument(staleAfter.milliseconds)]
        )
        guard let values = reply.array, values.count == 2 else { throw RedisError.unexpectedReply("heartbeat: \(reply)") }
        return HeartbeatAnswer(drain: values[0].int == 1, concurrency: values[1].string.flatMap(ConcurrencyRequest.init(stored:)))
    }

    /// Asks a live worker to run `concurrency` jobs at once: stored (its next heartbeat reads it
    /// back) and announced (``concurrencyAnnouncements()``, applied at once). A draining worker
    /// is refused: it claims nothing more. `concurrency` must lie in ``ConcurrencyRequest/range``.
    public func setConcurrency(_ workerID: String, to concurrency: Int) async throws -> ConcurrencyChange {
        precondition(ConcurrencyRequest.range.contains(concurrency), "concurrency \(concurrency) out of range")
        let reply = try await redis.run(
            Self.setConcurrency,
            keys: scriptKeys,
            arguments: [RedisArgument(workerID), RedisArgument(concurrency), RedisArgument(staleAfter.milliseconds)]
        )
        guard let values = reply.array, let outcome = values.first?.int else { throw RedisError.unexpectedReply("setConcurrency: \(reply)") }
        switch outcome {
        case 1:
            guard let data = values.dropFirst().first?.string?.data(using: .utf8),
                let info = try? RedisJSON.decoder.decode(WorkerInfo.self, from: data)
            else { throw RedisError.unexpectedReply("setConcurrency: \(reply)") }
            return .changed(info)
        case 2: return .draining
        default: return .notFound
        }
    }

    /// The concurrency changes admins make, for every worker (each keeps its own). Hints: a
    /// worker that missed one reads it back at its next heartbeat.
    public func concurrencyAnnouncements() -> AsyncStream<ConcurrencyAnnouncement> {
        RedisSubscription.stream(configuration: redis.configuration, channels: [keys.concurrencyChannel], logger: redis.logger) { message in
            ConcurrencyAnnouncement(payload: message.payload).map { [$0] } ?? []
        }
    }

    public func live() async throws -> [WorkerInfo] {
        let reply = try await redis.run(Self.list, keys: scriptKeys, arguments: [RedisArgument(staleAfter.milliseconds)])
        let values = reply.array ?? []
        var workers: [WorkerInfo] = []
        var index = 0
        while index + 2 < values.count {
            if let data = values[index].string?.data(using: .utf8), var info = try? RedisJSON.decoder.decode(WorkerInfo.self, from: data) {
                if let seen = values[index + 1].int { info.lastSeen = Date(timeIntervalSince1970: Double(seen) / 1000) }
                info.draining = info.draining || values[index + 2].int == 1
                workers.append(info)
            }
            index += 3
        }
        return workers.sorted { $0.workerID < $1.workerID }
    }

    /// The workers alive now (heartbeating within their own `staleAfter`), each with the latest
    /// lease expiry its heartbeats vouch for: its last heartbeat plus half its `staleAfter`.
    ///
    /// A worker heartbeats at least three times per `staleAfter` and renews leases three times
    /// per lease. One killed at t heartbeated last at t at the latest, while its leases run to
    /// t + ⅔·lease at the earliest — past the vouched-for time whenever the lease is longer than
    /// 2¼ heartbeat intervals (30 s against 5 s by default). A live worker whose lease expired
    /// (PostgreSQL down, a settlement that never landed) heartbeated within one interval of any
    /// sweep after the expiry. So a lease expiry within what its live worker vouches for was not
    /// a death (issue 8, item 12), and a dead worker's expiry is told apart even while its
    /// heartbeat is still fresh.
    public func aliveWorkers() async throws -> [String: Date] {
        let reply = try await redis.run(Self.alive, keys: scriptKeys, arguments: [])
        let values = reply.array ?? []
        var workers: [String: Date] = [:]
        var index = 0
        while index + 2 < values.count {
            if let id = values[index].string, let seen = values[index + 1].int, let until = values[index + 2].int {
                workers[id] = Date(timeIntervalSince1970: Double(seen + (until - seen) / 2) / 1000)
            }
            index += 3
        }
        return workers
    }

    /// Asks a live worker to drain; false when no such worker is live.
    public func requestDrain(_ workerID: String) async throws -> Bool {
        let reply = try await redis.run(
            Self.drain,
            keys: scriptKeys,
            arguments: [RedisArgument(workerID), RedisArgument(staleAfter.milliseconds)]
        )
        return reply.int == 1
    }

    /// Removes a worker that is exiting.
    public func leave(_ workerID: String) async throws {
        try await redis.run(Self.leave, keys: scriptKeys, arguments: [RedisArgument(workerID)])
    }
}
