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

/// Live workers, from their heartbeats in Redis: admins see them and can ask one to drain, and
/// the sweeper tells a dead worker's expired lease from a live one's.
///
/// Keys under the queue's hash tag `p` (see ``QueueKeys``): `p:workers` (id → info),
/// `p:workers:seen` (id → last heartbeat, ms), `p:workers:until` (id → when the worker counts as
/// gone, ms: its last heartbeat plus its own `staleAfter`, so a reader needs no configuration of
/// its own), `p:draining`.
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
        end
        redis.call('ZREMRANGEBYSCORE', p .. ':workers:until', '-inf', now - tonumber(ARGV[3]))
        return redis.call('SISMEMBER', p .. ':draining', ARGV[1])
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
        return 1
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

    /// Records a heartbeat; returns true when an admin asked this worker to drain.
    public func heartbeat(_ info: WorkerInfo) async throws -> Bool {
        let json = String(decoding: try RedisJSON.encoder.encode(info), as: UTF8.self)
        let reply = try await redis.run(
            Self.heartbeat,
            keys: scriptKeys,
            arguments: [RedisArgument(info.workerID), RedisArgument(json), RedisArgument(staleAfter.milliseconds)]
        )
        return reply.int == 1
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
