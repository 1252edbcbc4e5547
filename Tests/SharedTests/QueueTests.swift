import Foundation
import Testing
@testable import Shared

/// The queue's scripts against a real Redis, each test on a queue of its own (its own hash tag).
@Suite("Redis job queue scripts")
struct QueueTests {
    static func queue(_ redis: RedisClient) -> RedisJobQueue {
        RedisJobQueue(redis: redis, name: "qt-\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// Drops every key of a queue, as a Redis that lost its data would.
    static func loseData(_ queue: RedisJobQueue) async throws {
        let keys = try await queue.redis.send("KEYS", RedisArgument(queue.prefix + "*")).array?.compactMap(\.string) ?? []
        if !keys.isEmpty { _ = try await queue.redis.send(RedisCommand(["DEL"] + keys.map { RedisArgument($0) })) }
    }

    static func job(_ team: String, _ priority: Int = 0, retryAt: Date? = nil) -> QueuedJob {
        QueuedJob(jobID: UUID(), teamID: team, priority: priority, retryAt: retryAt)
    }

    @Test("claim order: higher priority first within a team, arrival order within a priority, teams round-robin")
    func claimOrder() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        let a0 = Self.job("a", 0), a9 = Self.job("a", 9), a5 = Self.job("a", 5), a5b = Self.job("a", 5), b0 = Self.job("b", 0)
        #expect(try await queue.enqueue([a0, a9, a5, a5b]) == 4)
        #expect(try await queue.enqueue([b0]) == 1)
        // Already held: nothing.
        #expect(try await queue.enqueue([a0, b0]) == 0)
        let order = try await queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID)
        #expect(order.count == 5)
        // Team a first (it had work first), then b, then the rest of a by priority and arrival.
        #expect(order == [a9.jobID, b0.jobID, a5.jobID, a5b.jobID, a0.jobID])
        try await Self.loseData(queue)
    }

    @Test("a job due later is scheduled, not ready; it is claimable once due")
    func enqueueHonoursRetryAt() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        // Due far enough ahead that a loaded machine claims before it falls due.
        let later = Self.job("t", retryAt: Date().addingTimeInterval(3))
        let past = Self.job("t", retryAt: Date().addingTimeInterval(-5))
        #expect(try await queue.enqueue([later, past]) == 2)
        let first = try await queue.claim(max: 10, lease: .seconds(30))
        #expect(first.claims.map(\.jobID) == [past.jobID])
        #expect(first.nextRetryDue != nil)
        #expect(try await redis.send("ZSCORE", RedisArgument(queue.prefix + ":scheduled"), RedisArgument(later.jobID.lowercasedString)) != .null)
        try await Task.sleep(for: .seconds(max(0, later.retryAt!.timeIntervalSinceNow) + 0.3))
        #expect(try await queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID) == [later.jobID])
        try await Self.loseData(queue)
    }

    @Test("enqueue takes back an expired lease, never a live one; a taken-back job due later is scheduled")
    func leases() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        let live = Self.job("t"), expired = Self.job("t")
        try await queue.enqueue([live])
        let liveClaim = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)
        try await queue.enqueue([expired])
        let expiredClaim = try #require(try await queue.claim(max: 1, lease: .milliseconds(1)).claims.first)
        try await Task.sleep(for: .milliseconds(20))
        var due = expired
        due.retryAt = Date().addingTimeInterval(60)
        #expect(try await queue.enqueue([live, due]) == 1)
        // The live lease still renews; the expired one was taken back.
        #expect(try await queue.renew([liveClaim, expiredClaim], lease: .seconds(30)) == [expired.jobID])
        #expect(try await queue.claim(max: 10, lease: .seconds(30)).claims.isEmpty)
        #expect(try await redis.send("ZSCORE", RedisArgument(queue.prefix + ":scheduled"), RedisArgument(expired.jobID.lowercasedString)) != .null)
        try await Self.loseData(queue)
    }

    @Test("expired leases are listed oldest first, only past the grace, a page at a time")
    func expiredLeasesListing() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        let jobs = (0..<3).map { _ in Self.job("t") }
        try await queue.enqueue(jobs)
        let claims = try await queue.claim(max: 3, lease: .seconds(30)).claims
        #expect(claims.count == 3)
        let now = RedisJobQueue.epochMilliseconds(Date())
        // Two leases expired a minute and two minutes ago, one is live.
        try await redis.send("ZADD", RedisArgument(queue.prefix + ":leases"), RedisArgument(now - 60_000), RedisArgument(claims[0].jobID.lowercasedString))
        try await redis.send("ZADD", RedisArgument(queue.prefix + ":leases"), RedisArgument(now - 120_000), RedisArgument(claims[1].jobID.lowercasedString))
        #expect(try await queue.expiredLeases(olderThan: .seconds(5), offset: 0, limit: 10) == [claims[1].jobID, claims[0].jobID])
        #expect(try await queue.expiredLeases(olderThan: .seconds(5), offset: 1, limit: 10) == [claims[0].jobID])
        #expect(try await queue.expiredLeases(olderThan: .seconds(90), offset: 0, limit: 10) == [claims[1].jobID])
        // Removing a stale entry forgets the job in every state.
        try await queue.remove([claims[1].jobID], completed: [])
        #expect(try await queue.held(jobs.map(\.jobID)) == Set([claims[0].jobID, claims[2].jobID]))
        #expect(try await queue.expiredLeases(olderThan: .seconds(5), offset: 0, limit: 10) == [claims[0].jobID])
        try await Self.loseData(queue)
    }

    @Test("park and unpark: a suspended team's jobs wait; resuming releases them, parked ones included")
    func parkAndUnpark() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        let a = Self.job("a"), b = Self.job("b")
        try await queue.enqueue([a])
        try await queue.suspend(teamID: "a")
        try await queue.enqueue([b])
        #expect(try await queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID) == [b.jobID])
        // A job claimed just before the suspension comes back parked (the claimer's refusal).
        try await queue.resume(teamID: "a")
        let claimed = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)
        try await queue.suspend(teamID: "a")
        try await queue.finish(acknowledge: [], completed: [], requeue: [Requeue(claim: claimed, delay: .zero)])
        #expect(try await queue.claim(max: 10, lease: .seconds(30)).claims.isEmpty)
        try await queue.resume(teamID: "a")
        #expect(try await queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID) == [a.jobID])
        try await Self.loseData(queue)
    }

    @Test("reconciling suspensions: parks what PostgreSQL suspends, unparks the rest, leaves fresh changes alone")
    func reconcileSuspended() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        let a = Self.job("a"), b = Self.job("b"), c = Self.job("c")
        // b was parked by a suspension whose record Redis kept, but whose resume it lost.
        try await redis.send("SADD", RedisArgument(queue.prefix + ":suspended"), "b")
        try await queue.enqueue([a, b])
        #expect(try await queue.reconcileSuspended(["a"], grace: .seconds(10)) == (parked: 1, unparked: 1))
        #expect(try await queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID) == [b.jobID])
        // Idempotent.
        #expect(try await queue.reconcileSuspended(["a"], grace: .seconds(10)) == (parked: 0, unparked: 0))
        // An API process resumed a just now (PostgreSQL may not have been read after it): left alone…
        try await queue.resume(teamID: "a")
        try await queue.suspend(teamID: "c")
        try await queue.enqueue([c])
        #expect(try await queue.reconcileSuspended(["a"], grace: .seconds(10)) == (parked: 0, unparked: 0))
        #expect(try await queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID) == [a.jobID])
        // …until the grace passed.
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await queue.reconcileSuspended([], grace: .milliseconds(10)) == (parked: 0, unparked: 1))
        #expect(try await queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID) == [c.jobID])
        try await Self.loseData(queue)
    }

    @Test("the sweep marker: absent after data loss; advanced only under the epoch that began it")
    func sweepMarker() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        #expect(try await queue.sweepMarker() == SweepMarker(epoch: nil, watermark: nil))
        let begun = try await queue.beginFullReenqueue()
        let epoch = try #require(begun.epoch)
        #expect(begun.watermark == nil)
        let mark = Date(timeIntervalSince1970: 1_700_000_000.123)
        #expect(try await queue.advanceSweepMarker(epoch: "another", watermark: mark) == false)
        #expect(try await queue.advanceSweepMarker(epoch: epoch, watermark: mark))
        #expect(try await queue.sweepMarker() == SweepMarker(epoch: epoch, watermark: mark))
        try await Self.loseData(queue)
        #expect(try await queue.advanceSweepMarker(epoch: epoch, watermark: mark) == false)
        #expect(try await queue.sweepMarker() == SweepMarker(epoch: nil, watermark: nil))
    }

    @Test("alive workers: heartbeating within their own staleness window; gone once it passed or they left")
    func aliveWorkers() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        // Windows wide enough that a loaded machine (the whole suite runs in parallel) reads the
        // quick worker alive before its window passes.
        let quick = WorkerRegistry(queue: queue, staleAfter: .seconds(3))
        let slow = WorkerRegistry(queue: queue, staleAfter: .seconds(30))
        func info(_ id: String) -> WorkerInfo {
            WorkerInfo(workerID: id, host: "h", pid: 1, concurrency: 1, inFlight: 0, startedAt: Date(), lastSeen: Date(), draining: false)
        }
        let sent = Date()
        _ = try await quick.heartbeat(info("w-quick"))
        _ = try await slow.heartbeat(info("w-slow"))
        _ = try await slow.heartbeat(info("w-leaving"))
        let answered = Date()
        let alive = try await slow.aliveWorkers()
        #expect(Set(alive.keys) == ["w-quick", "w-slow", "w-leaving"])
        // Each vouches for half its own window past its heartbeat, which happened between `sent`
        // and `answered` (however long a loaded machine took over it); Redis keeps whole ms.
        func vouched(_ id: String, for half: TimeInterval) throws -> Bool {
            let until = try #require(alive[id])
            return until >= sent.addingTimeInterval(half - 0.01) && until <= answered.addingTimeInterval(half + 0.01)
        }
        #expect(try vouched("w-slow", for: 15))
        #expect(try vouched("w-quick", for: 1.5))
        try await slow.leave("w-leaving")
        try await Task.sleep(for: .milliseconds(3300))
        // Read by a registry with any staleness of its own: each worker's window is its own.
        #expect(Set(try await slow.aliveWorkers().keys) == ["w-slow"])
        try await Self.loseData(queue)
    }
}
