import Foundation
import Redis
import Synchronization
import Testing

@testable import Shared

/// Runtime control on the queue's side, on both drivers where it is the queue's: a paused fleet
/// claims nothing while every other verb goes on, and a resume claims again; on Redis, the
/// worker registry's concurrency changes (stored for the heartbeat, announced, refused for
/// unknown and draining workers).
@Suite("Runtime control in the queue and the worker registry")
struct RuntimeControlQueueTests {
    static func job(_ team: String) -> QueuedJob { QueuedJob(jobID: UUID(), teamID: team, priority: 0) }

    @Test("paused, a claim leases nothing and says so, while enqueue, renew and finish go on; resumed, it claims", arguments: QueueDriver.allCases)
    func pauseAndResume(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let never = try await queue.pauseState()
            #expect(!never.paused && never.since == nil && !never.changed)
            let running = Self.job("a")
            try await queue.enqueue([running])
            let claim = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)

            let paused = try await queue.setPaused(true)
            #expect(paused.paused && paused.changed)
            let since = try #require(paused.since)
            #expect(abs(since.timeIntervalSinceNow) < 60)
            let again = try await queue.setPaused(true)
            #expect(again.paused && !again.changed && again.since == since, "a second pause keeps the first one's time")
            #expect(try await queue.pauseState() == QueuePause(paused: true, since: since))

            // Submits are accepted; nothing is claimed, however much is ready.
            let waiting = [Self.job("a"), Self.job("b"), Self.job("c")]
            #expect(try await queue.enqueue(waiting) == 3)
            let refused = try await queue.claim(max: 10, lease: .seconds(30))
            #expect(refused.paused && refused.claims.isEmpty)
            // The running job's lease is renewed and it settles as ever.
            #expect(try await queue.renew([claim], lease: .seconds(30)).isEmpty)
            try await queue.finish(acknowledge: [claim], completed: [claim.jobID], requeue: [])
            #expect(try await queue.held([claim.jobID]).isEmpty)
            #expect(try await queue.held(waiting.map(\.jobID)) == Set(waiting.map(\.jobID)), "the jobs stay queued")
            #expect(try await queue.waitingCount(teamID: "a") == 1)

            let resumed = try await queue.setPaused(false)
            #expect(!resumed.paused && resumed.changed)
            #expect(try #require(resumed.since) >= since)
            let claimed = try await queue.claim(max: 10, lease: .seconds(30))
            #expect(!claimed.paused)
            #expect(Set(claimed.claims.map(\.jobID)) == Set(waiting.map(\.jobID)))
            #expect(!(try await queue.setPaused(false)).changed)
        }
    }

    @Test("the sweeper's reconciliation sets the pause in one step, unless it is so or was changed within the grace", arguments: QueueDriver.allCases)
    func reconcilePause(driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            // Nothing in the queue (Redis lost its data): PostgreSQL's pause is set at once.
            #expect(try await queue.reconcilePause(true, grace: .seconds(5)))
            #expect(try await queue.pauseState().paused)
            #expect(try await queue.claim(max: 1, lease: .seconds(30)).paused)
            #expect(!(try await queue.reconcilePause(true, grace: .seconds(5))), "already so")
            // Changed within the grace: left (an admin's call whose record came after the read).
            #expect(!(try await queue.reconcilePause(false, grace: .seconds(5))))
            #expect(try await queue.pauseState().paused)
            #expect(try await queue.reconcilePause(false, grace: .zero))
            #expect(!(try await queue.pauseState().paused))
            // An admin's resume on a queue that lost its data changes nothing for the claims but
            // writes its time, so that a reconciliation read before it leaves it.
            try await harness.loseData()
            let resumed = try await queue.setPaused(false)
            #expect(!resumed.paused && !resumed.changed && resumed.since != nil)
            #expect(!(try await queue.reconcilePause(true, grace: .seconds(5))))
            #expect(!(try await queue.pauseState().paused))
        }
    }

    @Test("each pause and resume is announced to subscribers", arguments: QueueDriver.allCases)
    func announced(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let changes = queue.pauseChanges()
            // Repeated until the subscription is live (a Redis subscription connects on its own thread).
            let outcome = await raceDeadline(seconds: 10) {
                await withThrowingTaskGroup(of: Void.self, returning: Bool.self) { group in
                    group.addTask {
                        while true {
                            try await queue.setPaused(true)
                            try await queue.setPaused(false)
                            try await Task.sleep(for: .milliseconds(200))
                        }
                    }
                    var seen: Set<Bool> = []
                    for await paused in changes {
                        seen.insert(paused)
                        if seen.count == 2 { break }
                    }
                    group.cancelAll()
                    return seen.count == 2
                }
            }
            guard case .finished(.success(true)) = outcome else {
                Issue.record("pause and resume were not both announced within 10 s")
                return
            }
            try await queue.setPaused(false)
        }
    }

    @Test("the claim script reads the pause key QueueKeys names; losing Redis's data resumes the fleet")
    func pauseKey() async throws {
        try await QueueHarness.with(.redis) { harness in
            let (queue, redis) = try #require(harness.redis)
            try await queue.setPaused(true)
            #expect(try await redis.send("HGET", RedisArgument(queue.keys.pause), "paused").string == "1")
            try await harness.loseData()
            try await queue.enqueue([Self.job("t")])
            #expect(try await queue.claim(max: 1, lease: .seconds(30)).claims.count == 1)
        }
    }

    @Test("a worker's concurrency: stored for its heartbeat, announced with a version, refused for unknown and draining workers, gone when it leaves")
    func workerConcurrency() async throws {
        try await QueueHarness.with(.redis) { harness in
            let (queue, redis) = try #require(harness.redis)
            let registry = WorkerRegistry(queue: queue, staleAfter: .seconds(30))
            let id = "host-1|odd-7"
            let info = WorkerInfo(workerID: id, host: "h", pid: 1, concurrency: 4, inFlight: 2, startedAt: Date(), lastSeen: Date(), draining: false)
            #expect(try await registry.heartbeat(info) == HeartbeatAnswer(drain: false, concurrency: nil))
            #expect(try await registry.setConcurrency("w-unknown", to: 3) == .notFound)

            let announcements = registry.concurrencyAnnouncements()
            let heard = Mutex<ConcurrencyAnnouncement?>(nil)
            let listener = Task {
                for await announcement in announcements {
                    heard.withLock { $0 = announcement }
                    break
                }
            }
            defer { listener.cancel() }
            // The subscription connects on its own thread: change until one is heard.
            for attempt in 1...50 where heard.withLock({ $0 }) == nil {
                guard case .changed(let shown) = try await registry.setConcurrency(id, to: 7 + attempt % 2) else {
                    Issue.record("the live worker was not found")
                    return
                }
                #expect(shown.workerID == id && shown.inFlight == 2)
                try await Task.sleep(for: .milliseconds(200))
            }
            let announcement = try #require(heard.withLock { $0 })
            #expect(announcement.workerID == id, "an id holding '|' is read whole")
            let stored = try #require(try await registry.heartbeat(info).concurrency)
            #expect(stored.version >= announcement.request.version)
            #expect(try await redis.send("HEXISTS", RedisArgument(queue.keys.workersConcurrency), RedisArgument(id)) == .integer(1))

            #expect(try await registry.requestDrain(id))
            #expect(try await registry.setConcurrency(id, to: 2) == .draining)
            #expect(try await registry.heartbeat(info).concurrency == stored, "a refused change stores nothing")
            try await registry.leave(id)
            #expect(try await redis.send("HEXISTS", RedisArgument(queue.keys.workersConcurrency), RedisArgument(id)) == .integer(0))
        }
    }

    @Test("concurrency versions grow across a loss of Redis's data: a live worker applies a change made after the flush")
    func concurrencyVersionAfterDataLoss() async throws {
        try await QueueHarness.with(.redis) { harness in
            let (queue, _) = try #require(harness.redis)
            let registry = WorkerRegistry(queue: queue, staleAfter: .seconds(30))
            let info = WorkerInfo(
                workerID: "w-flush",
                host: "h",
                pid: 1,
                concurrency: 4,
                inFlight: 0,
                startedAt: Date(),
                lastSeen: Date(),
                draining: false
            )
            _ = try await registry.heartbeat(info)
            var applied = 0
            for concurrency in [5, 6, 7] {
                #expect(try await registry.setConcurrency(info.workerID, to: concurrency) != .notFound)
                let stored = try #require(try await registry.heartbeat(info).concurrency)
                #expect(stored.version > applied, "each change is newer than the last")
                applied = stored.version
            }
            // Redis loses its data (FLUSHDB); the worker's next heartbeat registers it again.
            try await harness.loseData()
            _ = try await registry.heartbeat(info)
            #expect(try await registry.setConcurrency(info.workerID, to: 2) != .notFound)
            let after = try #require(try await registry.heartbeat(info).concurrency)
            #expect(after.concurrency == 2)
            #expect(after.version > applied, "a worker that applied \(applied) would ignore \(after.version)")
            // Two changes within one millisecond still differ.
            _ = try await registry.setConcurrency(info.workerID, to: 3)
            #expect(try #require(try await registry.heartbeat(info).concurrency).version > after.version)
        }
    }
}
