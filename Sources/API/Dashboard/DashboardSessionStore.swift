import Foundation
import Redis
import Shared

/// Where dashboard sessions live. A protocol so the seam is visible; ``RedisDashboardSessionStore``
/// is the one the API uses (every API process sees every session, as they share Redis).
protocol DashboardSessionStore: Sendable {
    /// A new session for the admin key named by `actor` (its fingerprint).
    func create(actor: String) async throws -> DashboardSession
    /// The live session of `token`, its idle lifetime renewed; nil when unknown or expired.
    /// `takingFlash` hands over (and forgets) the message left for the next page.
    func find(token: String, takingFlash: Bool) async throws -> DashboardSession?
    /// Leaves a message for the next page of a live session (nothing when it ended meanwhile).
    func leave(_ flash: DashboardFlash, token: String) async throws
    /// Signs out: the session is gone at once.
    func end(token: String) async throws
}

/// Sessions as Redis hashes under `dashboard:session:<sha256 of the token>` with fields `csrf`,
/// `actor`, `created` (Redis time, ms) and the pending flash. Two lifetimes: the key's TTL is the
/// idle one (renewed by every request), and `created` bounds the whole session whatever its
/// activity (`find` ends it once past `absolute`). Each verb is one script, so a session never
/// exists without its TTL.
struct RedisDashboardSessionStore: DashboardSessionStore {
    let redis: RedisClient
    let idle: Duration
    let absolute: Duration

    static func key(_ token: String) -> RedisArgument {
        RedisArgument("dashboard:session:\(DashboardToken.hash(token))")
    }

    private static let createScript = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('HSET', KEYS[1], 'csrf', ARGV[1], 'actor', ARGV[2], 'created', now)
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """
    )

    private static let findScript = RedisScript(
        """
        local v = redis.call('HMGET', KEYS[1], 'csrf', 'actor', 'created', 'flash', 'flash_error')
        if not v[1] or not v[3] then return false end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local left = tonumber(ARGV[2]) - (now - tonumber(v[3]))
        if left <= 0 then
          redis.call('DEL', KEYS[1])
          return false
        end
        redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[1]), left))
        if ARGV[3] == '1' and v[4] then redis.call('HDEL', KEYS[1], 'flash', 'flash_error') end
        return {v[1], v[2], v[4] or '', v[5] or ''}
        """
    )

    private static let leaveScript = RedisScript(
        """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'flash', ARGV[1], 'flash_error', ARGV[2])
        return 1
        """
    )

    func create(actor: String) async throws -> DashboardSession {
        let token = DashboardToken.random()
        let csrf = DashboardToken.random()
        _ = try await redis.run(
            Self.createScript,
            keys: [Self.key(token)],
            arguments: [RedisArgument(csrf), RedisArgument(actor), RedisArgument(min(idle, absolute).milliseconds)]
        )
        return DashboardSession(token: token, csrf: csrf, actor: actor, flash: nil)
    }

    func find(token: String, takingFlash: Bool) async throws -> DashboardSession? {
        guard DashboardToken.isWellFormed(token) else { return nil }
        let reply = try await redis.run(
            Self.findScript,
            keys: [Self.key(token)],
            arguments: [
                RedisArgument(idle.milliseconds), RedisArgument(absolute.milliseconds), RedisArgument(takingFlash ? "1" : "0"),
            ]
        )
        guard let values = reply.array, values.count == 4, let csrf = values[0].string, let actor = values[1].string else { return nil }
        let message = values[2].string ?? ""
        let flash = takingFlash && !message.isEmpty ? DashboardFlash(message: message, isError: values[3].string == "1") : nil
        return DashboardSession(token: token, csrf: csrf, actor: actor, flash: flash)
    }

    func leave(_ flash: DashboardFlash, token: String) async throws {
        _ = try await redis.run(
            Self.leaveScript,
            keys: [Self.key(token)],
            arguments: [RedisArgument(flash.message), RedisArgument(flash.isError ? "1" : "0")]
        )
    }

    func end(token: String) async throws {
        guard DashboardToken.isWellFormed(token) else { return }
        _ = try await redis.send("DEL", Self.key(token))
    }
}
