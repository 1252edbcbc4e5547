import Foundation
import Logging
import Redis
import Shared
import Testing

@testable import Worker

/// Every outcome of a circuit breaker's probe resolves the half-open state (issue 8, item 5):
/// before, a probe answered by a 429, a 4xx, "context too long", a cancel, or a document job that
/// made no call left the provider "probing" forever in that worker.
@Suite("Circuit breaker probes (against the test Redis)")
struct CircuitProbeTests {
    private struct SilentAudit: AuditStore {
        func record(actor: String, action: String, target: String?, outcome: String, details: JSONObject) async throws {}
        func recordFailedAuthentications(_ counts: [FailedAuthenticationCount]) async throws {}
        func list(limit: Int, after cursor: String?) async throws -> Page<AuditEvent> { Page(items: [], nextCursor: nil) }
    }

    /// A health whose circuit for "p" is half-open, with the probe just admitted.
    private func probing(probeDeadline: Duration = .seconds(60), openFor: Duration = .milliseconds(50)) async throws -> (ProviderHealth, RedisClient)
    {
        let url = ProcessInfo.processInfo.environment["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6381/1"
        let redis = RedisClient(configuration: try RedisConfiguration(url: url))
        let health = ProviderHealth(
            board: ProviderHealthBoard(redis: redis, queueName: "probe-\(UUID().uuidString.prefix(8))"),
            audit: SilentAudit(),
            failureThreshold: 1,
            openFor: openFor,
            logger: Logger(label: "test")
        )
        await health.record(provider: "p", model: "m", failure: UpstreamFailure(kind: .transient, statusCode: 503, message: "down"))
        try await Task.sleep(for: openFor + .milliseconds(70))
        #expect(await health.admit(provider: "p", model: "m", rpm: nil, probeDeadline: probeDeadline) == .probe)
        guard case .wait = await health.admit(provider: "p", model: "m", rpm: nil) else {
            Issue.record("one probe at a time")
            return (health, redis)
        }
        return (health, redis)
    }

    @Test(
        "a probe answered by a 429, a 4xx or 'context too long' closes the circuit",
        arguments: [
            UpstreamFailure.Kind.rateLimited, .invalidRequest, .contextTooLong,
        ]
    )
    func answeredProbes(kind: UpstreamFailure.Kind) async throws {
        let (health, redis) = try await probing()
        defer { redis.shutdown() }
        await health.record(
            provider: "p",
            model: "m",
            failure: UpstreamFailure(kind: kind, statusCode: 400, message: "x", retryAfter: .milliseconds(1))
        )
        try await Task.sleep(for: .milliseconds(5))
        #expect(await health.admit(provider: "p", model: "other", rpm: nil) == .go, "\(kind): the provider answered; the circuit is closed")
    }

    @Test("a probe that made no call (a cancel, a document with every step kept) lets the next call probe")
    func releasedProbe() async throws {
        let (health, redis) = try await probing()
        defer { redis.shutdown() }
        health.releaseProbe(provider: "p")
        #expect(await health.admit(provider: "p", model: "m", rpm: nil) == .probe)
    }

    @Test("a probe whose outcome never comes back is lost after its deadline")
    func lostProbe() async throws {
        // A deadline long enough that the set-up's own admits (through Redis) finish within it.
        let (health, redis) = try await probing(probeDeadline: .seconds(1))
        defer { redis.shutdown() }
        try await Task.sleep(for: .milliseconds(1100))
        #expect(await health.admit(provider: "p", model: "m", rpm: nil) == .probe)
    }

    @Test("a probe that fails again opens the circuit again")
    func failedProbe() async throws {
        // Open long enough that a loaded machine still sees it open right after.
        let (health, redis) = try await probing(openFor: .seconds(2))
        defer { redis.shutdown() }
        await health.record(provider: "p", model: "m", failure: UpstreamFailure(kind: .transient, statusCode: 503, message: "down"))
        guard case .wait = await health.admit(provider: "p", model: "m", rpm: nil) else {
            Issue.record("open again")
            return
        }
    }

    @Test("a cool-down announced by another worker is bounded like an upstream's wait")
    func boundedAnnouncement() async throws {
        let url = ProcessInfo.processInfo.environment["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6381/1"
        let redis = RedisClient(configuration: try RedisConfiguration(url: url))
        defer { redis.shutdown() }
        let health = ProviderHealth(
            board: ProviderHealthBoard(redis: redis, queueName: "probe-\(UUID().uuidString.prefix(8))"),
            audit: SilentAudit(),
            logger: Logger(label: "test")
        )
        health.applyAnnouncement("p|m|\(Int.max)")
        guard case .wait(let wait) = await health.admit(provider: "p", model: "m", rpm: nil) else {
            Issue.record("cooling down")
            return
        }
        #expect(wait <= UpstreamNumbers.maxWait)
    }
}
