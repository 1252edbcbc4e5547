import Foundation
import Redis
import Testing

@testable import Shared

/// `max_concurrent_jobs` at claim, and the waiting count the submit limit reads, on both drivers:
/// a capped team never has more leased than its cap, its other jobs wait out of the rotation,
/// and every way a lease ends gives its slot back.
extension QueueTests {
    static func teamOf(_ jobs: [QueuedJob]) -> [UUID: String] {
        Dictionary(uniqueKeysWithValues: jobs.map { ($0.jobID, $0.teamID) })
    }

    @Test("a capped team never has more than its cap leased; its other jobs wait while other teams' run", arguments: QueueDriver.allCases)
    func capAtClaim(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let a = (0..<5).map { _ in Self.job("a") }
            let b = (0..<3).map { _ in Self.job("b") }
            try await queue.setConcurrencyCap(teamID: "a", cap: 2)
            try await queue.enqueue(a + b)
            let teamOf = Self.teamOf(a + b)
            let first = try await queue.claim(max: 10, lease: .seconds(30)).claims
            #expect(first.filter { teamOf[$0.jobID] == "a" }.count == 2)
            #expect(first.filter { teamOf[$0.jobID] == "b" }.count == 3)
            // At its cap, however many claims ask.
            #expect(try await Self.claimed(queue).isEmpty)
            #expect(try await queue.waitingCount(teamID: "a") == 3)
            // One lease ends: one more of a's, and still no more than two.
            let done = try #require(first.first { teamOf[$0.jobID] == "a" })
            try await queue.finish(acknowledge: [done], completed: [done.jobID], requeue: [])
            let next = try await Self.claimed(queue)
            #expect(next.count == 1 && teamOf[next[0]] == "a")
            #expect(try await Self.claimed(queue).isEmpty)
        }
    }

    @Test("every way a lease ends gives the slot back: requeue, retry later, remove, reset, expired take-back", arguments: QueueDriver.allCases)
    func capSlotsComeBack(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let jobs = (0..<6).map { _ in Self.job("a") }
            try await queue.setConcurrencyCap(teamID: "a", cap: 1)
            try await queue.enqueue(jobs)
            func claimOne() async throws -> Claim {
                let claims = try await queue.claim(max: 5, lease: .seconds(30)).claims
                #expect(claims.count == 1)
                return try #require(claims.first)
            }
            // Requeued now: the slot and the job both come back.
            var held = try await claimOne()
            try await queue.finish(acknowledge: [], completed: [], requeue: [Requeue(claim: held, delay: .zero)])
            held = try await claimOne()
            // Requeued for later: the slot comes back, the job waits scheduled.
            try await queue.finish(acknowledge: [], completed: [], requeue: [Requeue(claim: held, delay: .seconds(60))])
            #expect(try await queue.waitingCount(teamID: "a") == 6)
            held = try await claimOne()
            // Removed (cancelled, expired).
            try await queue.remove([held.jobID], completed: [])
            held = try await claimOne()
            // Reset by the sweeper.
            try await queue.reset([QueuedJob(jobID: held.jobID, teamID: "a", priority: 0)])
            held = try await claimOne()
            // An expired lease taken back by an enqueue.
            try await harness.setLeaseExpiry(held.jobID, to: Date().addingTimeInterval(-1))
            #expect(try await queue.enqueue([QueuedJob(jobID: held.jobID, teamID: "a", priority: 0)]) == 1)
            _ = try await claimOne()
            #expect(try await Self.claimed(queue).isEmpty)
        }
    }

    @Test("raising, lowering and clearing a cap takes effect at the next claim; renewals keep the slot", arguments: QueueDriver.allCases)
    func capChanges(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            try await queue.enqueue((0..<10).map { _ in Self.job("a") })
            try await queue.setConcurrencyCap(teamID: "a", cap: 2)
            let two = try await queue.claim(max: 10, lease: .seconds(30)).claims
            #expect(two.count == 2)
            #expect(try await queue.renew(two, lease: .seconds(30)).isEmpty)
            #expect(try await Self.claimed(queue).isEmpty)
            try await queue.setConcurrencyCap(teamID: "a", cap: 3)
            #expect(try await Self.claimed(queue).count == 1)
            // Lowered below what is leased: nothing more until enough leases end.
            try await queue.setConcurrencyCap(teamID: "a", cap: 1)
            try await queue.finish(acknowledge: Array(two), completed: [], requeue: [])
            #expect(try await Self.claimed(queue).isEmpty)
            try await queue.setConcurrencyCap(teamID: "a", cap: nil)
            #expect(try await Self.claimed(queue).count == 7)
        }
    }

    @Test("after Redis lost its data the sweeper's caps are reconciled exactly", arguments: QueueDriver.allCases)
    func capReconcile(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            try await queue.setConcurrencyCap(teamID: "gone", cap: 1)
            try await harness.loseData()
            let a = (0..<3).map { _ in Self.job("a") }
            let b = (0..<3).map { _ in Self.job("b") }
            try await queue.enqueue(a + b)
            #expect(try await queue.reconcileConcurrencyCaps(["a": 1]) == 1)
            #expect(try await queue.reconcileConcurrencyCaps(["a": 1]) == 0)
            let teamOf = Self.teamOf(a + b)
            let claimed = try await Self.claimed(queue).compactMap { teamOf[$0] }
            #expect(claimed.filter { $0 == "a" }.count == 1)
            #expect(claimed.filter { $0 == "b" }.count == 3)
            // A cap PostgreSQL no longer has is dropped, and the team rejoins.
            #expect(try await queue.reconcileConcurrencyCaps([:]) == 1)
            #expect(try await Self.claimed(queue).count == 2)
        }
    }

    @Test("the waiting count: ready, parked and scheduled jobs, never leased ones, and it follows every move", arguments: QueueDriver.allCases)
    func waitingCount(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let now = Self.job("a")
            let later = Self.job("a", retryAt: Date().addingTimeInterval(60))
            let other = Self.job("b")
            try await queue.enqueue([now, later, other])
            #expect(try await queue.waitingCount(teamID: "a") == 2)
            #expect(try await queue.waitingCount(teamID: "none") == 0)
            let claim = try #require(try await queue.claim(max: 5, lease: .seconds(30)).claims.first { $0.jobID == now.jobID })
            #expect(try await queue.waitingCount(teamID: "a") == 1)
            try await queue.finish(acknowledge: [], completed: [], requeue: [Requeue(claim: claim, delay: .seconds(60))])
            #expect(try await queue.waitingCount(teamID: "a") == 2)
            try await queue.suspend(teamID: "a")
            try await queue.reset([now])
            #expect(try await queue.waitingCount(teamID: "a") == 2)
            try await queue.remove([later.jobID, now.jobID], completed: [])
            #expect(try await queue.waitingCount(teamID: "a") == 0)
            if let redis = harness.redis {
                // Emptied counts leave no entries behind.
                #expect(try await redis.client.send("HLEN", RedisArgument(redis.queue.keys.scheduledCounts)).int == 0)
            }
        }
    }

    @Test("a capped team's scheduled retries that fall due wait for a slot like its other jobs", arguments: QueueDriver.allCases)
    func capAndRetries(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let jobs = (0..<2).map { _ in Self.job("a") }
            try await queue.setConcurrencyCap(teamID: "a", cap: 1)
            try await queue.enqueue(jobs)
            let first = try #require(try await queue.claim(max: 5, lease: .seconds(30)).claims.first)
            try await queue.finish(acknowledge: [], completed: [], requeue: [Requeue(claim: first, delay: .milliseconds(20))])
            let second = try #require(try await queue.claim(max: 5, lease: .seconds(30)).claims.first)
            try await Task.sleep(for: .milliseconds(50))
            // The retry fell due, but the one slot is held.
            #expect(try await Self.claimed(queue).isEmpty)
            try await queue.finish(acknowledge: [second], completed: [], requeue: [])
            #expect(try await Self.claimed(queue) == [first.jobID])
        }
    }
}
