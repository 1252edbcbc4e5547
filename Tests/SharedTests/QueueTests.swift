import Foundation
import Redis
import Testing

@testable import Shared

/// The queue's rules, checked on both drivers: the Redis scripts against a real Redis, and the
/// in-memory driver the worker's unit tests run on — one set of tests, so the two cannot drift
/// apart. Each test has a queue of its own (on Redis, its own hash tag). Checks of the keys the
/// scripts write run on Redis only.
@Suite("Job queue drivers: Redis scripts and in memory")
struct QueueTests {
    static func queue(_ redis: RedisClient) -> RedisJobQueue {
        RedisJobQueue(redis: redis, name: "qt-\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// Drops every key of a queue, as a Redis that lost its data would.
    static func loseData(_ queue: RedisJobQueue) async throws {
        let keys = try await queue.redis.send("KEYS", RedisArgument(queue.keys.tag + "*")).array?.compactMap(\.string) ?? []
        if !keys.isEmpty { _ = try await queue.redis.send(RedisCommand(["DEL"] + keys.map { RedisArgument($0) })) }
    }

    static func job(_ team: String, _ priority: Int = 0, retryAt: Date? = nil) -> QueuedJob {
        QueuedJob(jobID: UUID(), teamID: team, priority: priority, retryAt: retryAt)
    }

    static func claimed(_ queue: any JobQueue, max: Int = 10) async throws -> [UUID] {
        try await queue.claim(max: max, lease: .seconds(30)).claims.map(\.jobID)
    }

    // MARK: Claim order and fairness

    @Test("claim order: higher priority first within a team, arrival order within a priority, teams round-robin", arguments: QueueDriver.allCases)
    func claimOrder(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let a0 = Self.job("a", 0)
            let a9 = Self.job("a", 9)
            let a5 = Self.job("a", 5)
            let a5b = Self.job("a", 5)
            let b0 = Self.job("b", 0)
            #expect(try await queue.enqueue([a0, a9, a5, a5b]) == 4)
            #expect(try await queue.enqueue([b0]) == 1)
            let order = try await Self.claimed(queue)
            #expect(order.count == 5)
            // Team a first (it had work first), then b, then the rest of a by priority and arrival.
            #expect(order == [a9.jobID, b0.jobID, a5.jobID, a5b.jobID, a0.jobID])
        }
    }

    @Test("fairness: teams with ready jobs take turns, one job a turn, however many one team has", arguments: QueueDriver.allCases)
    func fairness(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let many = (0..<8).map { _ in Self.job("many", 9) }
            let two = (0..<2).map { _ in Self.job("two") }
            let one = Self.job("one")
            try await queue.enqueue(many)
            try await queue.enqueue(two)
            try await queue.enqueue([one])
            var teams: [String] = []
            let teamOf = Dictionary(uniqueKeysWithValues: (many + two + [one]).map { ($0.jobID, $0.teamID) })
            // A claim of one at a time takes the same turns as one claim of many.
            for _ in 0..<3 { teams += try await Self.claimed(queue, max: 1).compactMap { teamOf[$0] } }
            teams += try await Self.claimed(queue, max: 20).compactMap { teamOf[$0] }
            #expect(teams == ["many", "two", "one", "many", "two"] + Array(repeating: "many", count: 6))
            #expect(try await Self.claimed(queue).isEmpty)
        }
    }

    // MARK: Enqueue

    @Test("enqueue is idempotent: a job held in any state (ready, leased, scheduled) is left as it is", arguments: QueueDriver.allCases)
    func idempotentEnqueue(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let low = Self.job("t", 0)
            // Twice in one batch, then again: held once.
            #expect(try await queue.enqueue([low, low]) == 1)
            #expect(try await queue.enqueue([low]) == 0)
            // Enqueued again at another priority: the held job keeps its place.
            var raised = low
            raised.priority = 9
            #expect(try await queue.enqueue([raised]) == 0)
            let middle = Self.job("t", 5)
            try await queue.enqueue([middle])
            #expect(try await Self.claimed(queue, max: 1) == [middle.jobID])
            // Leased: left alone, its token still renews.
            let claim = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)
            #expect(claim.jobID == low.jobID)
            #expect(try await queue.enqueue([low]) == 0)
            #expect(try await queue.renew([claim], lease: .seconds(30)).isEmpty)
            // Scheduled for a retry: left alone, not made ready.
            try await queue.finish(acknowledge: [], completed: [], requeue: [Requeue(claim: claim, delay: .seconds(60))])
            #expect(try await queue.enqueue([low]) == 0)
            let result = try await queue.claim(max: 10, lease: .seconds(30))
            #expect(result.claims.isEmpty)
            #expect(try await queue.held([low.jobID, middle.jobID, UUID()]) == [low.jobID, middle.jobID])
        }
    }

    @Test("a job due later is scheduled, not ready; it is claimable once due", arguments: QueueDriver.allCases)
    func enqueueHonoursRetryAt(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            // Due far enough ahead that a loaded machine claims before it falls due.
            let later = Self.job("t", retryAt: Date().addingTimeInterval(6))
            let past = Self.job("t", retryAt: Date().addingTimeInterval(-5))
            #expect(try await queue.enqueue([later, past]) == 2)
            let first = try await queue.claim(max: 10, lease: .seconds(30))
            // A machine so loaded that the claim ran after `later` fell due (a CI run took 9 s
            // for these two calls) cannot tell scheduled from ready: it then claims both, which is
            // right only if `later` really was due.
            if first.claims.contains(where: { $0.jobID == later.jobID }) {
                #expect(Date() >= later.retryAt!, "a job claimed before it was due")
                #expect(Set(first.claims.map(\.jobID)) == [past.jobID, later.jobID])
                return
            }
            #expect(first.claims.map(\.jobID) == [past.jobID])
            let due = try #require(first.nextRetryDue)
            #expect(due > .zero && due <= .seconds(6))
            if let redis = harness.redis {
                #expect(
                    try await redis.client.send("ZSCORE", RedisArgument(redis.queue.keys.scheduled), RedisArgument(later.jobID.lowercasedString))
                        != .null
                )
            }
            try await Task.sleep(for: .seconds(max(0, later.retryAt!.timeIntervalSinceNow) + 0.3))
            #expect(try await Self.claimed(queue) == [later.jobID])
        }
    }

    @Test("enqueue takes back an expired lease, never a live one; a taken-back job due later is scheduled", arguments: QueueDriver.allCases)
    func leases(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let live = Self.job("t")
            let expired = Self.job("t")
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
            let result = try await queue.claim(max: 10, lease: .seconds(30))
            #expect(result.claims.isEmpty)
            #expect(result.nextRetryDue.map { $0 > .seconds(50) } == true)
            if let redis = harness.redis {
                #expect(
                    try await redis.client.send("ZSCORE", RedisArgument(redis.queue.keys.scheduled), RedisArgument(expired.jobID.lowercasedString))
                        != .null
                )
            }
        }
    }

    // MARK: Leases, tokens, rescheduling

    @Test("tokens: only the current delivery renews, acknowledges or requeues its job", arguments: QueueDriver.allCases)
    func tokens(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let job = Self.job("t")
            try await queue.enqueue([job])
            let first = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)
            let forged = Claim(jobID: job.jobID, token: UUID())
            #expect(try await queue.renew([first, forged], lease: .seconds(30)) == [job.jobID])
            #expect(try await queue.renew([first], lease: .seconds(30)).isEmpty)
            // A stale token neither forgets the job nor hands it back.
            try await queue.finish(acknowledge: [forged], completed: [], requeue: [Requeue(claim: forged, delay: .zero)])
            #expect(try await queue.held([job.jobID]) == [job.jobID])
            #expect(try await Self.claimed(queue).isEmpty)
            // Delivered again (the sweeper's reset): the first delivery's token is dead.
            try await queue.reset([job])
            let second = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)
            #expect(second.jobID == job.jobID && second.token != first.token)
            #expect(try await queue.renew([first], lease: .seconds(30)) == [job.jobID])
            try await queue.finish(acknowledge: [first], completed: [], requeue: [])
            #expect(try await queue.held([job.jobID]) == [job.jobID])
            try await queue.finish(acknowledge: [second], completed: [], requeue: [])
            #expect(try await queue.held([job.jobID]).isEmpty)
            #expect(try await queue.renew([second], lease: .seconds(30)) == [job.jobID])
        }
    }

    @Test(
        "reschedule: a requeue with a delay waits until due and is the next retry reported; without one it is ready at once",
        arguments: QueueDriver.allCases
    )
    func reschedule(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let later = Self.job("t")
            let now = Self.job("t")
            let done = Self.job("t")
            try await queue.enqueue([later, now, done])
            let claims = try await queue.claim(max: 3, lease: .seconds(30)).claims
            let byID = Dictionary(uniqueKeysWithValues: claims.map { ($0.jobID, $0) })
            try await queue.finish(
                acknowledge: [byID[done.jobID]!],
                completed: [done.jobID],
                requeue: [Requeue(claim: byID[later.jobID]!, delay: .seconds(2)), Requeue(claim: byID[now.jobID]!, delay: .zero)]
            )
            #expect(try await queue.held([later.jobID, now.jobID, done.jobID]) == [later.jobID, now.jobID])
            let first = try await queue.claim(max: 10, lease: .seconds(30))
            #expect(first.claims.map(\.jobID) == [now.jobID])
            let due = try #require(first.nextRetryDue)
            #expect(due > .zero && due <= .seconds(2))
            try await Task.sleep(for: due + .milliseconds(100))
            let second = try await queue.claim(max: 10, lease: .seconds(30))
            #expect(second.claims.map(\.jobID) == [later.jobID])
            #expect(second.nextRetryDue == nil)
        }
    }

    @Test("reset puts a job back as ready whatever its state, under the team and priority it is given", arguments: QueueDriver.allCases)
    func reset(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let scheduled = Self.job("a", retryAt: Date().addingTimeInterval(60))
            let other = Self.job("b", 5)
            try await queue.enqueue([scheduled, other])
            var moved = scheduled
            moved.teamID = "b"
            moved.priority = 9
            try await queue.reset([moved])
            #expect(try await Self.claimed(queue) == [moved.jobID, other.jobID])
            #expect(try await queue.claim(max: 1, lease: .seconds(30)).nextRetryDue == nil)
        }
    }

    @Test("expired leases are listed oldest first, only past the grace, a page at a time", arguments: QueueDriver.allCases)
    func expiredLeasesListing(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let jobs = (0..<3).map { _ in Self.job("t") }
            try await queue.enqueue(jobs)
            let claims = try await queue.claim(max: 3, lease: .seconds(30)).claims
            #expect(claims.count == 3)
            // Two leases expired a minute and two minutes ago, one is live.
            try await harness.setLeaseExpiry(claims[0].jobID, to: Date().addingTimeInterval(-60))
            try await harness.setLeaseExpiry(claims[1].jobID, to: Date().addingTimeInterval(-120))
            #expect(try await queue.expiredLeases(olderThan: .seconds(5), offset: 0, limit: 10) == [claims[1].jobID, claims[0].jobID])
            #expect(try await queue.expiredLeases(olderThan: .seconds(5), offset: 1, limit: 10) == [claims[0].jobID])
            #expect(try await queue.expiredLeases(olderThan: .seconds(5), offset: 0, limit: 1) == [claims[1].jobID])
            #expect(try await queue.expiredLeases(olderThan: .seconds(90), offset: 0, limit: 10) == [claims[1].jobID])
            // Removing a stale entry forgets the job in every state.
            try await queue.remove([claims[1].jobID], completed: [])
            #expect(try await queue.held(jobs.map(\.jobID)) == Set([claims[0].jobID, claims[2].jobID]))
            #expect(try await queue.expiredLeases(olderThan: .seconds(5), offset: 0, limit: 10) == [claims[0].jobID])
        }
    }

    // MARK: Suspended teams

    @Test("park and unpark: a suspended team's jobs wait; resuming releases them, parked ones included", arguments: QueueDriver.allCases)
    func parkAndUnpark(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let a = Self.job("a")
            let b = Self.job("b")
            try await queue.enqueue([a])
            try await queue.suspend(teamID: "a")
            try await queue.enqueue([b])
            #expect(try await Self.claimed(queue) == [b.jobID])
            // A job claimed just before the suspension comes back parked (the claimer's refusal).
            try await queue.resume(teamID: "a")
            let claimed = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)
            try await queue.suspend(teamID: "a")
            try await queue.finish(acknowledge: [], completed: [], requeue: [Requeue(claim: claimed, delay: .zero)])
            #expect(try await Self.claimed(queue).isEmpty)
            #expect(try await queue.held([a.jobID]) == [a.jobID])
            try await queue.resume(teamID: "a")
            #expect(try await Self.claimed(queue) == [a.jobID])
        }
    }

    @Test("reconciling suspensions: parks what PostgreSQL suspends, unparks the rest, leaves fresh changes alone", arguments: QueueDriver.allCases)
    func reconcileSuspended(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let a = Self.job("a")
            let b = Self.job("b")
            let c = Self.job("c")
            // b was parked by a suspension whose record the queue kept, but whose resume it lost.
            try await harness.parkWithoutRecord("b")
            try await queue.enqueue([a, b])
            #expect(try await queue.reconcileSuspended(["a"], grace: .seconds(10)) == (parked: 1, unparked: 1))
            #expect(try await Self.claimed(queue) == [b.jobID])
            // Idempotent.
            #expect(try await queue.reconcileSuspended(["a"], grace: .seconds(10)) == (parked: 0, unparked: 0))
            // An API process resumed a just now (PostgreSQL may not have been read after it): left alone…
            try await queue.resume(teamID: "a")
            try await queue.suspend(teamID: "c")
            try await queue.enqueue([c])
            #expect(try await queue.reconcileSuspended(["a"], grace: .seconds(10)) == (parked: 0, unparked: 0))
            #expect(try await Self.claimed(queue) == [a.jobID])
            // …until the grace passed.
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await queue.reconcileSuspended([], grace: .milliseconds(10)) == (parked: 0, unparked: 1))
            #expect(try await Self.claimed(queue) == [c.jobID])
        }
    }

    // MARK: The sweeper's marker

    @Test("the sweep marker: absent after data loss; advanced only under the epoch that began it", arguments: QueueDriver.allCases)
    func sweepMarker(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            #expect(try await queue.sweepMarker() == SweepMarker(epoch: nil, watermark: nil))
            let begun = try await queue.beginFullReenqueue()
            let epoch = try #require(begun.epoch)
            #expect(begun.watermark == nil)
            let mark = Date(timeIntervalSince1970: 1_700_000_000.123)
            #expect(try await queue.advanceSweepMarker(epoch: "another", watermark: mark) == false)
            #expect(try await queue.advanceSweepMarker(epoch: epoch, watermark: mark))
            #expect(try await queue.sweepMarker() == SweepMarker(epoch: epoch, watermark: mark))
            // A new full re-enqueue drops the watermark until it completes.
            let again = try await queue.beginFullReenqueue()
            #expect(again.epoch != epoch && again.watermark == nil)
            try await harness.loseData()
            #expect(try await queue.advanceSweepMarker(epoch: epoch, watermark: mark) == false)
            #expect(try await queue.sweepMarker() == SweepMarker(epoch: nil, watermark: nil))
        }
    }

    // MARK: Waiting and announcements

    @Test(
        "waiting for work: at once when a team has ready jobs, as soon as one gets some, else at the timeout; cancelling ends it",
        arguments: QueueDriver.allCases
    )
    func waitForWork(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let clock = ContinuousClock()
            // Nothing ready: the timeout.
            let idle = try await clock.measure { try await queue.waitForWork(timeout: .milliseconds(300)) }
            #expect(idle >= .milliseconds(250) && idle < .seconds(10))
            // A job arrives while waiting: the wait ends then, long before its timeout.
            let job = Self.job("t")
            let started = clock.now
            let waiting = Task { try await queue.waitForWork(timeout: .seconds(60)) }
            try await Task.sleep(for: .milliseconds(200))
            try await queue.enqueue([job])
            try await waiting.value
            #expect(clock.now - started < .seconds(30))
            // Work ready: at once.
            let ready = try await clock.measure { try await queue.waitForWork(timeout: .seconds(60)) }
            #expect(ready < .seconds(30))
            // Cancelled: ends at once, with CancellationError.
            #expect(try await Self.claimed(queue) == [job.jobID])
            let cancelled = Task { try await queue.waitForWork(timeout: .seconds(60)) }
            try await Task.sleep(for: .milliseconds(200))
            let cancelledAt = clock.now
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            #expect(clock.now - cancelledAt < .seconds(30))
        }
    }

    @Test("completions and cancellations reach their subscribers; a subscription ends with its consumer", arguments: QueueDriver.allCases)
    func announcements(_ driver: QueueDriver) async throws {
        try await QueueHarness.with(driver) { harness in
            let queue = harness.queue
            let settled = Self.job("t")
            let expired = Self.job("t")
            let cancelled = UUID()
            try await queue.enqueue([settled, expired])
            let claim = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)
            do {
                let completions = queue.completions()
                // Announced with the acknowledgement (repeated until the subscription is live:
                // what is published before it is lost, as pub/sub is).
                #expect(
                    await Self.receive([settled.jobID, expired.jobID], from: completions) {
                        try await queue.finish(acknowledge: [claim], completed: [settled.jobID], requeue: [])
                        try await queue.remove([expired.jobID], completed: [expired.jobID])
                    }
                )
                let cancellations = queue.cancellations()
                #expect(await Self.receive([cancelled], from: cancellations) { try await queue.publishCancel(cancelled) })
            }
            #expect(try await queue.held([settled.jobID, expired.jobID]).isEmpty)
            // The streams were dropped: their subscriptions are closed.
            if let redis = harness.redis {
                let keys = redis.queue.keys
                var subscribers = -1
                for _ in 0..<100 {
                    let reply = try await redis.client.send(
                        "PUBSUB",
                        "NUMSUB",
                        RedisArgument(keys.completedChannel),
                        RedisArgument(keys.cancelChannel)
                    )
                    subscribers = (reply.array ?? []).compactMap(\.int).reduce(0, +)
                    if subscribers == 0 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(subscribers == 0)
            }
        }
    }

    /// Iterates `stream` until every id of `expected` arrived (others are skipped), running
    /// `announce` every 200 ms meanwhile — a Redis subscription connects on its own thread after
    /// the stream is returned. False when 10 s pass first.
    static func receive(
        _ expected: Set<UUID>,
        from stream: AsyncStream<UUID>,
        announce: @escaping @Sendable () async throws -> Void
    ) async -> Bool {
        let outcome = await raceDeadline(seconds: 10) {
            await withThrowingTaskGroup(of: Void.self, returning: Bool.self) { group in
                group.addTask {
                    while true {
                        try await announce()
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
                var missing = expected
                for await id in stream {
                    missing.remove(id)
                    if missing.isEmpty { break }
                }
                group.cancelAll()
                return missing.isEmpty
            }
        }
        if case .finished(.success(true)) = outcome { return true }
        return false
    }

    // MARK: Redis only: the keys and the workers' registry

    @Test("the scripts write the keys QueueKeys names")
    func keyLayout() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        let keys = queue.keys
        #expect(keys.tag == "{\(keys.name)}")
        let ready = Self.job("t", 7)
        let later = Self.job("t", retryAt: Date().addingTimeInterval(60))
        let leased = Self.job("u")
        try await queue.enqueue([leased])
        let claim = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)
        try await queue.enqueue([ready, later])
        func id(_ job: QueuedJob) -> RedisArgument { RedisArgument(job.jobID.lowercasedString) }
        #expect(try await redis.send("HGET", RedisArgument(keys.jobs), id(ready)).string == "7|t")
        #expect(try await redis.send("ZSCORE", RedisArgument(keys.ready(team: "t")), id(ready)) != .null)
        #expect(try await redis.send("LRANGE", RedisArgument(keys.teams), 0, -1).array?.compactMap(\.string) == ["t"])
        #expect(try await redis.send("SISMEMBER", RedisArgument(keys.active), "t") == .integer(1))
        #expect(try await redis.send("HGET", RedisArgument(keys.tokens), id(leased)).string == claim.token.lowercasedString)
        #expect(try await redis.send("ZSCORE", RedisArgument(keys.leases), id(leased)) != .null)
        #expect(try await redis.send("ZSCORE", RedisArgument(keys.scheduled), id(later)) != .null)
        #expect(try await redis.send("GET", RedisArgument(keys.sequence)).int == 2)
        try await queue.suspend(teamID: "t")
        #expect(try await redis.send("SISMEMBER", RedisArgument(keys.suspended), "t") == .integer(1))
        #expect(try await redis.send("HEXISTS", RedisArgument(keys.suspendedChanged), "t") == .integer(1))
        let epoch = try #require(try await queue.beginFullReenqueue().epoch)
        #expect(try await redis.send("HGET", RedisArgument(keys.sweepMarker), "epoch").string == epoch)
        let registry = WorkerRegistry(queue: queue, staleAfter: .seconds(30))
        _ = try await registry.heartbeat(
            WorkerInfo(workerID: "w", host: "h", pid: 1, concurrency: 1, inFlight: 0, startedAt: Date(), lastSeen: Date(), draining: false)
        )
        #expect(try await registry.requestDrain("w"))
        #expect(try await redis.send("HEXISTS", RedisArgument(keys.workers), "w") == .integer(1))
        #expect(try await redis.send("ZSCORE", RedisArgument(keys.workersSeen), "w") != .null)
        #expect(try await redis.send("ZSCORE", RedisArgument(keys.workersUntil), "w") != .null)
        #expect(try await redis.send("SISMEMBER", RedisArgument(keys.draining), "w") == .integer(1))
        let board = ProviderHealthBoard(redis: redis, queueName: keys.name)
        try await board.post("p", ProviderHealthReport(state: "closed", lastError: nil, lastErrorAt: nil, openUntil: nil))
        #expect(try await redis.send("HEXISTS", RedisArgument(keys.providerHealth), "p") == .integer(1))
        #expect(try await board.leaseRequests(provider: "p", model: "m", limit: 5, block: 2, minute: 1) == 2)
        #expect(try await redis.send("GET", RedisArgument(keys.requestBudget(provider: "p", model: "m", slot: 1))).int == 2)
        #expect(board.cooldownChannel == keys.cooldownChannel)
        try await Self.loseData(queue)
    }

    @Test("alive workers: heartbeating within their own staleness window; gone once it passed or they left")
    func aliveWorkers() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = Self.queue(redis)
        // Windows wide enough that a loaded machine (the whole suite runs in parallel) reads the
        // quick worker alive before its window passes.
        let quick = WorkerRegistry(queue: queue, staleAfter: .seconds(8))
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
        #expect(try vouched("w-quick", for: 4))
        try await slow.leave("w-leaving")
        try await Task.sleep(for: .milliseconds(8300))
        // Read by a registry with any staleness of its own: each worker's window is its own.
        #expect(Set(try await slow.aliveWorkers().keys) == ["w-slow"])
        try await Self.loseData(queue)
    }
}

/// Which driver a queue test runs on.
enum QueueDriver: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case redis
    case memory

    var testDescription: String { rawValue }
}

/// A queue of its own for one test, with what a test sets up that the verbs cannot: on Redis
/// written to the keys, in memory through the driver's test hooks.
struct QueueHarness: Sendable {
    let queue: any JobQueue
    /// On Redis: the driver and its client, for checks of the keys the scripts write.
    let redis: (queue: RedisJobQueue, client: RedisClient)?
    private let memory: MemoryJobQueue?

    private init(_ driver: QueueDriver) throws {
        switch driver {
        case .redis:
            let client = try TestEnvironment.redis()
            let queue = QueueTests.queue(client)
            self.queue = queue
            redis = (queue, client)
            memory = nil
        case .memory:
            let queue = MemoryJobQueue()
            self.queue = queue
            redis = nil
            memory = queue
        }
    }

    /// Runs `body` on a fresh queue, and clears it away afterwards.
    static func with(_ driver: QueueDriver, _ body: (QueueHarness) async throws -> Void) async throws {
        let harness = try QueueHarness(driver)
        do {
            try await body(harness)
        } catch {
            try? await harness.close()
            throw error
        }
        try await harness.close()
    }

    /// Moves a held lease's expiry.
    func setLeaseExpiry(_ jobID: UUID, to date: Date) async throws {
        if let redis {
            try await redis.client.send(
                "ZADD",
                RedisArgument(redis.queue.keys.leases),
                "XX",
                RedisArgument(date.queueMilliseconds),
                RedisArgument(jobID.lowercasedString)
            )
        }
        await memory?.setLeaseExpiry(jobID, to: date)
    }

    /// Parks a team without the record of when it was suspended.
    func parkWithoutRecord(_ teamID: String) async throws {
        if let redis { try await redis.client.send("SADD", RedisArgument(redis.queue.keys.suspended), RedisArgument(teamID)) }
        await memory?.parkWithoutRecord(teamID)
    }

    /// Forgets everything, as a Redis that lost its data.
    func loseData() async throws {
        if let redis { try await QueueTests.loseData(redis.queue) }
        await memory?.loseData()
    }

    private func close() async throws {
        try await loseData()
        redis?.client.shutdown()
    }
}
