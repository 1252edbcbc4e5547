import Foundation
import Logging
import Redis
import Shared
import Testing

@testable import Worker

/// An audit store that remembers what it was told.
private final class RecordingAudit: AuditStore, @unchecked Sendable {
    var actions: [String] = []
    func record(actor: String, action: String, target: String?, outcome: String, details: JSONObject) async throws { actions.append(action) }
    func recordFailedAuthentications(_ counts: [FailedAuthenticationCount]) async throws {}
    func list(limit: Int, after cursor: String?) async throws -> Page<AuditEvent> { Page(items: [], nextCursor: nil) }
}

@Suite("Provider health: circuit breaker, cool-downs, budgets (against the test Redis)")
struct ProviderHealthTests {
    private func make(threshold: Int = 2, openFor: Duration = .milliseconds(300)) throws -> (ProviderHealth, RedisClient) {
        let url = ProcessInfo.processInfo.environment["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6381/1"
        let redis = RedisClient(configuration: try RedisConfiguration(url: url))
        let name = "health-\(UUID().uuidString.prefix(8))"
        let health = ProviderHealth(
            board: ProviderHealthBoard(redis: redis, queueName: name),
            audit: RecordingAudit(),
            failureThreshold: threshold,
            openFor: openFor,
            logger: Logger(label: "test")
        )
        return (health, redis)
    }

    private func failure(_ kind: UpstreamFailure.Kind, retryAfter: Duration? = nil) -> UpstreamFailure {
        UpstreamFailure(kind: kind, statusCode: 500, message: "boom", retryAfter: retryAfter)
    }

    @Test("repeated failures open the circuit; after the open period one probe closes it")
    func circuit() async throws {
        // An open period long enough that a loaded machine still sees it open right after.
        let (health, redis) = try make(openFor: .seconds(12))
        defer { redis.shutdown() }
        #expect(await health.admit(provider: "p", model: "m", rpm: nil) == .go)
        await health.record(provider: "p", model: "m", failure: failure(.transient))
        #expect(await health.admit(provider: "p", model: "m", rpm: nil) == .go)
        await health.record(provider: "p", model: "m", failure: failure(.transient))
        guard case .wait = await health.admit(provider: "p", model: "m", rpm: nil) else {
            Issue.record("the circuit should be open")
            return
        }
        try await Task.sleep(for: .milliseconds(12_100))
        #expect(await health.admit(provider: "p", model: "m", rpm: nil) == .probe)
        // While the probe is out, nobody else goes.
        guard case .wait = await health.admit(provider: "p", model: "m", rpm: nil) else {
            Issue.record("only one probe")
            return
        }
        await health.record(provider: "p", model: "m", failure: nil)
        #expect(await health.admit(provider: "p", model: "m", rpm: nil) == .go)
    }

    @Test("a bad key opens the circuit at once; a 429 cools the model down for its Retry-After")
    func immediateAndCooldown() async throws {
        let (health, redis) = try make(threshold: 5, openFor: .seconds(10))
        defer { redis.shutdown() }
        await health.record(provider: "p", model: "m", failure: failure(.badCredentials))
        guard case .wait = await health.admit(provider: "p", model: "m", rpm: nil) else {
            Issue.record("a bad key should open the circuit")
            return
        }
        await health.record(provider: "q", model: "m", failure: failure(.rateLimited, retryAfter: .milliseconds(1500)))
        guard case .wait(let wait) = await health.admit(provider: "q", model: "m", rpm: nil) else {
            Issue.record("a 429 should cool down")
            return
        }
        #expect(wait <= .milliseconds(1500))
        #expect(await health.admit(provider: "q", model: "other", rpm: nil) == .go, "the cool-down is per model")
        try await Task.sleep(for: .milliseconds(1600))
        #expect(await health.admit(provider: "q", model: "m", rpm: nil) == .go)
    }

    @Test("request and token budgets per second hold across concurrent callers")
    func budgets() async throws {
        let (health, redis) = try make()
        defer { redis.shutdown() }
        // A limit under 60 a minute is kept per minute: stay clear of a minute's last seconds.
        if Int(Date().timeIntervalSince1970) % 60 >= 57 { try await Task.sleep(for: .seconds(4)) }
        let results = await withTaskGroup(of: JobRunnerAdmission.self) { group in
            for _ in 0..<10 { group.addTask { JobRunnerAdmission(await health.admit(provider: "p", model: "m", rpm: 3)) } }
            return await group.reduce(into: [JobRunnerAdmission]()) { $0.append($1) }
        }
        #expect(results.filter { $0.isGo }.count == 3, "3 requests a minute, whoever asks")
        // 600 tokens a minute are 10 a second: start at a second's beginning so both calls share it.
        let now = Date().timeIntervalSince1970
        try await Task.sleep(for: .milliseconds(Int64((1 - (now - now.rounded(.down))) * 1000) + 20))
        #expect(await health.admit(provider: "t", model: "m", rpm: nil, tpm: 600, tokens: 6) == .go)
        guard case .wait = await health.admit(provider: "t", model: "m", rpm: nil, tpm: 600, tokens: 6) else {
            Issue.record("600 tokens a minute allow 10 in a second: a second call of 6 must wait")
            return
        }
    }
}

/// Sendable wrapper to count admissions.
private struct JobRunnerAdmission: Sendable {
    let isGo: Bool
    init(_ admission: ProviderHealth.Admission) { isGo = admission == .go }
}
