import Foundation
import Hummingbird
import HummingbirdTesting
import Redis
import Shared
import Testing

@testable import API

/// Runtime control over the routes (API.md "Operations"): the fleet-wide pause and resume of
/// claiming, and one worker's concurrency — their answers, refusals and audit rows. The queue's
/// side (a paused claim leases nothing) is `QueueTests`'; the worker's is `RuntimeControlTests`'.
@Suite("Runtime control routes", .serialized)
struct FleetControlTests {
    /// The registry the API reads: the production queue name on the test Redis.
    static func registry(_ redis: RedisClient) -> WorkerRegistry {
        WorkerRegistry(redis: redis, staleAfter: .seconds(30))
    }

    static func heartbeat(_ registry: WorkerRegistry, _ id: String, concurrency: Int = 4) async throws -> HeartbeatAnswer {
        try await registry.heartbeat(
            WorkerInfo(workerID: id, host: "h", pid: 7, concurrency: concurrency, inFlight: 1, startedAt: Date(), lastSeen: Date(), draining: false)
        )
    }

    @Test("pause and resume: the state, since when and whether the call changed it; GET /api/admin/queue shows it; each is audited")
    func pauseAndResume() async throws {
        try await Caller.run { api in
            let since = Date().addingTimeInterval(-30)
            let redis = RedisClient(configuration: try RedisConfiguration(url: TestApp.redisURL))
            defer { redis.shutdown() }
            let queue = RedisJobQueue(redis: redis)
            let pauseID = "fleet-\(UUID().uuidString)"
            let resumeID = "fleet-\(UUID().uuidString)"

            let paused = try await api.admin(.post, "/api/admin/queue/pause", headers: [.xRequestID: pauseID])
            #expect(paused.status == .ok, "\(paused.summary)")
            #expect(paused.json?["paused"] as? Bool == true)
            #expect(Fixture.isTimestamp(paused.json?["since"]))
            #expect(try await queue.claim(max: 5, lease: .seconds(30)).paused, "the claim sees the pause once it was answered")
            #expect(try await Database.int("SELECT paused::int AS n FROM fleet_pause") == 1, "PostgreSQL records it too")
            let again = try await api.admin(.post, "/api/admin/queue/pause")
            #expect(again.json?["paused"] as? Bool == true)
            #expect(again.json?["changed"] as? Bool == false, "a second pause changes nothing")
            #expect(again.json?["since"] as? String == paused.json?["since"] as? String)

            let stats = try await api.admin(.get, "/api/admin/queue")
            #expect(stats.status == .ok)
            #expect(stats.json?["paused"] as? Bool == true)
            #expect(stats.json?["paused_since"] as? String == paused.json?["since"] as? String)

            let resumed = try await api.admin(.post, "/api/admin/queue/resume", headers: [.xRequestID: resumeID])
            #expect(resumed.status == .ok)
            #expect(resumed.json?["paused"] as? Bool == false)
            #expect(resumed.json?["changed"] as? Bool == true)
            #expect(!(try await queue.claim(max: 0, lease: .seconds(30)).paused))
            #expect(try await Database.int("SELECT paused::int AS n FROM fleet_pause") == 0)
            let after = try await api.admin(.get, "/api/admin/queue")
            #expect(after.json?["paused"] as? Bool == false)
            #expect(after.json?["paused_since"] is NSNull)

            // Admin only.
            #expect(try await api.send(.post, "/api/admin/queue/pause").status == .unauthorized)
            #expect(try await api.send(.get, "/api/admin/queue/pause").status == .methodNotAllowed)

            let (events, _) = try await AuditTests.events(api, since: since)
            let byRequest = Dictionary(events.compactMap { e in AuditTests.requestID(e).map { ($0, e) } }, uniquingKeysWith: { a, _ in a })
            #expect(byRequest[pauseID]?["action"] as? String == "POST /api/admin/queue/pause")
            #expect((byRequest[pauseID]?["outcome"] as? String)?.hasPrefix("success") == true)
            #expect(byRequest[resumeID]?["action"] as? String == "POST /api/admin/queue/resume")
        }
    }

    @Test("a worker's concurrency: stored for its heartbeat and answered as the workers list shows it; audited")
    func concurrency() async throws {
        try await Caller.run { api in
            let since = Date().addingTimeInterval(-30)
            let redis = RedisClient(configuration: try RedisConfiguration(url: TestApp.redisURL))
            defer { redis.shutdown() }
            let registry = Self.registry(redis)
            let worker = "w-fleet-\(UUID().uuidString.prefix(8))"
            #expect(try await Self.heartbeat(registry, worker).concurrency == nil)
            let requestID = "fleet-\(UUID().uuidString)"

            let changed = try await api.admin(
                .put,
                "/api/admin/workers/\(worker)/concurrency",
                #"{"concurrency": 9}"#,
                headers: [.xRequestID: requestID]
            )
            #expect(changed.status == .ok, "\(changed.summary)")
            #expect(changed.json?["worker_id"] as? String == worker)
            #expect(changed.int("concurrency") == 9)
            #expect(changed.int("in_flight") == 1)
            #expect(changed.string("host") == "h")
            #expect(changed.json?["draining"] as? Bool == false)
            // The worker's next heartbeat reads it back (the announcement may have been lost).
            let answer = try await Self.heartbeat(registry, worker)
            #expect(answer.concurrency?.concurrency == 9)
            #expect(!answer.drain)

            // A later change has a later version.
            #expect(try await api.admin(.put, "/api/admin/workers/\(worker)/concurrency", #"{"concurrency": 1}"#).int("concurrency") == 1)
            let later = try #require(try await Self.heartbeat(registry, worker).concurrency)
            #expect(later.concurrency == 1)
            #expect(later.version > answer.concurrency!.version)

            let (events, _) = try await AuditTests.events(api, since: since)
            let event = events.first { AuditTests.requestID($0) == requestID }
            #expect(event?["action"] as? String == "PUT /api/admin/workers/{worker_id}/concurrency")
            #expect((event?["target"] as? String)?.contains(worker) == true)
            try await registry.leave(worker)
        }
    }

    @Test("concurrency refusals: out of range or not an integer 422 naming the field, unknown worker 404, draining worker 409")
    func concurrencyRefusals() async throws {
        try await Caller.run { api in
            let redis = RedisClient(configuration: try RedisConfiguration(url: TestApp.redisURL))
            defer { redis.shutdown() }
            let registry = Self.registry(redis)
            let worker = "w-fleet-\(UUID().uuidString.prefix(8))"
            _ = try await Self.heartbeat(registry, worker)
            let path = "/api/admin/workers/\(worker)/concurrency"

            for body in [#"{"concurrency": 0}"#, #"{"concurrency": -3}"#, #"{"concurrency": 10001}"#] {
                let refused = try await api.admin(.put, path, body)
                #expect(refused.status == .unprocessableContent, "\(body)")
                #expect(refused.detail == "Field 'concurrency' must be between 1 and 10000", "\(body)")
            }
            #expect(try await api.admin(.put, path, #"{"concurrency": "5"}"#).detail == "Field 'concurrency' must be an integer")
            #expect(try await api.admin(.put, path, #"{"concurrency": 2.5}"#).status == .unprocessableContent)
            #expect(try await api.admin(.put, path, #"{}"#).detail == "Field 'concurrency' is required")
            #expect(try await api.admin(.put, path, "not json").status == .badRequest)
            // Nothing was stored by a refusal.
            #expect(try await Self.heartbeat(registry, worker).concurrency == nil)

            let unknown = try await api.admin(.put, "/api/admin/workers/w-nobody/concurrency", #"{"concurrency": 5}"#)
            #expect(unknown.status == .notFound)
            #expect(unknown.detail == "Worker 'w-nobody' not found")
            #expect(try await api.send(.put, path, body: #"{"concurrency": 5}"#).status == .unauthorized)

            #expect(try await api.admin(.post, "/api/admin/workers/\(worker)/drain").status == .ok)
            let draining = try await api.admin(.put, path, #"{"concurrency": 5}"#)
            #expect(draining.status == .conflict)
            #expect(draining.detail == "Worker '\(worker)' is draining")
            try await registry.leave(worker)
        }
    }
}
