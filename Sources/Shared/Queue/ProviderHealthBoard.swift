public import Foundation
public import Redis

/// A provider's health as workers report it: its circuit state and its last error. Kept in Redis
/// (one hash for all providers) so that the API can show admins why jobs moved to fallbacks.
public struct ProviderHealthReport: Sendable, Hashable, Codable {
    public var state: String
    public var lastError: String?
    public var lastErrorAt: Date?
    public var openUntil: Date?

    enum CodingKeys: String, CodingKey {
        case state
        case lastError = "last_error"
        case lastErrorAt = "last_error_at"
        case openUntil = "open_until"
    }

    public init(state: String, lastError: String?, lastErrorAt: Date?, openUntil: Date?) {
        self.state = state
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.openUntil = openUntil
    }
}

/// Where workers post provider health and share cool-downs and request budgets.
public struct ProviderHealthBoard: Sendable {
    let redis: RedisClient
    let keys: QueueKeys

    public init(redis: RedisClient, queueName: String = "q") {
        self.redis = redis
        self.keys = QueueKeys(name: queueName)
    }

    /// Workers tell each other about cool-downs here: `provider|model|milliseconds`.
    public var cooldownChannel: String { keys.cooldownChannel }

    /// The cool-downs other workers announce (``announceCooldown(provider:model:duration:)``), as
    /// their `provider|model|milliseconds` text, while the stream is iterated. Hints: one
    /// announced while the subscription reconnects is lost, and learnt again from the next 429.
    public func cooldownAnnouncements() -> AsyncStream<String> {
        RedisSubscription.stream(configuration: redis.configuration, channels: [keys.cooldownChannel], logger: redis.logger) { [$0.payload] }
    }

    public func post(_ provider: String, _ report: ProviderHealthReport) async throws {
        let json = String(decoding: try RedisJSON.encoder.encode(report), as: UTF8.self)
        try await redis.send("HSET", RedisArgument(keys.providerHealth), RedisArgument(provider), RedisArgument(json))
    }

    public func reports() async throws -> [String: ProviderHealthReport] {
        let reply = try await redis.send("HGETALL", RedisArgument(keys.providerHealth))
        let values = reply.array ?? []
        var reports: [String: ProviderHealthReport] = [:]
        var index = 0
        while index + 1 < values.count {
            if let name = values[index].string, let data = values[index + 1].string?.data(using: .utf8),
                let report = try? RedisJSON.decoder.decode(ProviderHealthReport.self, from: data)
            {
                reports[name] = report
            }
            index += 2
        }
        return reports
    }

    public func announceCooldown(provider: String, model: String, duration: Duration) async throws {
        try await redis.send("PUBLISH", RedisArgument(cooldownChannel), RedisArgument("\(provider)|\(model)|\(duration.milliseconds)"))
    }

    private static let lease = RedisScript(
        """
        local granted = redis.call('INCRBY', KEYS[1], ARGV[1])
        if granted == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
        local limit = tonumber(ARGV[2])
        if granted <= limit then return tonumber(ARGV[1]) end
        return math.max(0, limit - (granted - tonumber(ARGV[1])))
        """
    )

    /// Leases up to `block` requests of a provider+model's budget for one time window (`slot`),
    /// shared by every worker; returns how many were granted (0 when the window is spent).
    public func leaseRequests(provider: String, model: String, limit: Int, block: Int, minute slot: Int) async throws -> Int {
        let key = keys.requestBudget(provider: provider, model: model, slot: slot)
        let reply = try await redis.run(
            Self.lease,
            keys: [RedisArgument(key)],
            arguments: [RedisArgument(block), RedisArgument(limit), RedisArgument(120_000)]
        )
        return reply.int ?? 0
    }
}
