import Foundation
import Logging
import Postgres
import Redis
import Testing

@testable import Shared

/// The sweeper against real PostgreSQL and Redis. Its reads are global to the database (as in
/// production), so these tests run one at a time; each has a queue of its own and its own team.
@Suite("Sweeper reconciliation", .serialized)
struct SweeperTests {
    struct Context {
        let postgres: PostgresClient
        let redis: RedisClient
        let store: PostgresJobStore
        let queue: RedisJobQueue
        let team: String

        func shutdown() async throws {
            try await QueueTests.loseData(queue)
            postgres.shutdown()
            redis.shutdown()
        }

        func sweeper(clockSteps: ClockStepWatch = ClockStepWatch()) -> Sweeper {
            Sweeper(
                jobs: store,
                queue: queue,
                workers: WorkerRegistry(queue: queue),
                interval: .seconds(1),
                clockSteps: clockSteps,
                logger: Logger(label: "sweeper-test")
            )
        }

        /// Submits `count` queued jobs through the store (reservation of 1 credit each), created
        /// `age` ago; they are not enqueued.
        func submit(_ count: Int, age: TimeInterval = 10) async throws -> [UUID] {
            let submissions = JobSubmission.chats(count, team: team)
            for result in try await store.submit(submissions) { _ = try result.get() }
            let ids = submissions.map(\.jobID)
            try await postgres.query(
                "UPDATE jobs SET created_at = created_at - make_interval(secs => $2), updated_at = updated_at - make_interval(secs => $2) WHERE job_id = ANY($1::text[]::uuid[])",
                [.textArray(ids.map(\.lowercasedString)), .double(age)]
            )
            return ids
        }

        func status(_ id: UUID) async throws -> (status: String, expiries: Int, errorCode: String?) {
            let row = try #require(
                try await postgres.query("SELECT status, lease_expiries, error_code FROM jobs WHERE job_id = $1", [.uuid(id)]).first
            )
            return (try row.decode("status"), try row.decode("lease_expiries"), try row.decodeIfPresent("error_code"))
        }

        func reserved() async throws -> Int {
            try await postgres.query("SELECT credits_reserved FROM credit_accounts WHERE team_id = $1", [.text(team)]).first!.decode(
                "credits_reserved"
            )
        }

        /// Claims one job and marks it `in_progress` for `workerID`, then lets its lease expire in
        /// PostgreSQL (as if `lease` passed without renewal).
        func runAndAbandon(_ id: UUID, workerID: String) async throws {
            let claim = try #require(try await queue.claim(max: 1, lease: .milliseconds(1)).claims.first)
            #expect(claim.jobID == id)
            let (marked, _) = try await store.markInProgress([claim], workerID: workerID, lease: .seconds(30))
            #expect(marked.count == 1)
            try await postgres.query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE job_id = $1", [.uuid(id)])
        }
    }

    static func context() async throws -> Context {
        let postgres = try await TestEnvironment.ownDatabase("sweeper")
        let redis = try TestEnvironment.redis()
        let team = "sw-\(UUID().uuidString.prefix(8).lowercased())"
        try await postgres.query(
            "INSERT INTO organizations (organization_id, name) VALUES ($1, 'sweeper tests') ON CONFLICT DO NOTHING",
            [.text("sweeper-org")]
        )
        try await postgres.query("INSERT INTO teams (team_id, organization_id) VALUES ($1, 'sweeper-org')", [.text(team)])
        try await postgres.query("INSERT INTO credit_accounts (team_id, credits_allocated) VALUES ($1, 1000)", [.text(team)])
        // Leftovers of earlier runs must not be swept into this test's queue.
        try await postgres.query(
            """
            UPDATE jobs SET status = 'cancelled', completed_at = now(), lease_token = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE team_id LIKE 'sw-%' AND team_id <> $1 AND status IN ('pending', 'queued', 'in_progress', 'cancelling')
            """,
            [.text(team)]
        )
        return Context(postgres: postgres, redis: redis, store: PostgresJobStore(postgres: postgres), queue: QueueTests.queue(redis), team: team)
    }

    // MARK: item 8

    @Test("after Redis lost its data, a suspended team's re-enqueued jobs stay parked")
    func suspendedTeamStaysParkedAfterDataLoss() async throws {
        let context = try await Self.context()
        let ids = try await context.submit(2)
        try await context.postgres.query("UPDATE teams SET status = 'suspended' WHERE team_id = $1", [.text(context.team)])
        // Redis never heard of the suspension (it lost it): the sweep rebuilds the queue.
        _ = try await context.sweeper().sweepOnce()
        #expect(try await context.queue.held(ids) == Set(ids))
        let claims = try await context.queue.claim(max: 10, lease: .seconds(30)).claims
        #expect(claims.filter { ids.contains($0.jobID) }.isEmpty, "a suspended team's jobs were handed out")
        try await context.shutdown()
    }

    @Test("a resume Redis lost: the sweep unparks the active team and releases its parked jobs")
    func lostResumeIsRepaired() async throws {
        let context = try await Self.context()
        let ids = try await context.submit(2)
        try await context.queue.enqueue(ids.map { QueuedJob(jobID: $0, teamID: context.team, priority: 0) })
        // Parked in Redis long ago (no fresh change on record); PostgreSQL says active.
        try await context.redis.send("SADD", RedisArgument(context.queue.keys.suspended), RedisArgument(context.team))
        try await context.redis.send("LREM", RedisArgument(context.queue.keys.teams), 0, RedisArgument(context.team))
        try await context.redis.send("SREM", RedisArgument(context.queue.keys.active), RedisArgument(context.team))
        #expect(try await context.queue.claim(max: 10, lease: .seconds(30)).claims.isEmpty)
        _ = try await context.sweeper().sweepOnce()
        let claimed = Set(try await context.queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID))
        #expect(claimed == Set(ids))
        try await context.shutdown()
    }

    // MARK: item 12

    @Test("an expired lease whose worker is alive goes back to the queue without counting toward poison")
    func liveWorkerExpiryDoesNotCount() async throws {
        let context = try await Self.context()
        let ids = try await context.submit(1)
        let id = ids[0]
        try await context.queue.enqueue([QueuedJob(jobID: id, teamID: context.team, priority: 0)])
        // The worker is alive (heartbeating) but its lease ran out: PostgreSQL was down longer
        // than the lease, say. Even at two counted expiries already, this one must not poison.
        _ = try await WorkerRegistry(queue: context.queue, staleAfter: .seconds(30)).heartbeat(
            WorkerInfo(
                workerID: "w-alive",
                host: "h",
                pid: 1,
                concurrency: 1,
                inFlight: 1,
                startedAt: Date(),
                lastSeen: Date(),
                draining: false
            )
        )
        try await context.postgres.query("UPDATE jobs SET lease_expiries = 2 WHERE job_id = $1", [.uuid(id)])
        try await context.runAndAbandon(id, workerID: "w-alive")
        _ = try await context.sweeper().sweepOnce()
        let after = try await context.status(id)
        #expect(after.status == "queued")
        #expect(after.expiries == 2)
        #expect(try await context.queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID).contains(id))
        try await context.shutdown()
    }

    @Test("a killed worker whose heartbeat is still fresh: its lease ran past what its heartbeats vouch for, so the expiry counts")
    func freshlyKilledWorkerCounts() async throws {
        let context = try await Self.context()
        let id = try await context.submit(1)[0]
        try await context.queue.enqueue([QueuedJob(jobID: id, teamID: context.team, priority: 0)])
        // Heartbeats every ⅔ s (stale after 2 s) vouch for leases up to 1 s past the last one;
        // this worker was killed after it, while its lease ran on.
        _ = try await WorkerRegistry(queue: context.queue, staleAfter: .seconds(2)).heartbeat(
            WorkerInfo(
                workerID: "w-killed",
                host: "h",
                pid: 1,
                concurrency: 1,
                inFlight: 1,
                startedAt: Date(),
                lastSeen: Date(),
                draining: false
            )
        )
        try await context.runAndAbandon(id, workerID: "w-killed")
        try await Task.sleep(for: .milliseconds(1300))
        try await context.postgres.query("UPDATE jobs SET lease_expires_at = now() - interval '100 milliseconds' WHERE job_id = $1", [.uuid(id)])
        _ = try await context.sweeper().sweepOnce()
        let after = try await context.status(id)
        #expect(after.status == "queued")
        #expect(after.expiries == 1)
        try await context.shutdown()
    }

    @Test("poison after the third expiry of a dead worker's lease; the reservation is released")
    func deadWorkerPoison() async throws {
        let context = try await Self.context()
        let id = try await context.submit(1)[0]
        try await context.queue.enqueue([QueuedJob(jobID: id, teamID: context.team, priority: 0)])
        #expect(try await context.reserved() == 1)
        for round in 1...3 {
            // A worker that never heartbeats (or stopped): dead.
            try await context.runAndAbandon(id, workerID: "w-dead-\(round)")
            _ = try await context.sweeper().sweepOnce()
            let after = try await context.status(id)
            #expect(after.expiries == round)
            #expect(after.status == (round < 3 ? "queued" : "failed"))
        }
        #expect(try await context.status(id).errorCode == "poison")
        #expect(try await context.reserved() == 0)
        #expect(try await context.queue.held([id]).isEmpty)
        try await context.shutdown()
    }

    // MARK: item 20

    @Test("a Redis lease of a job PostgreSQL settled but Redis never acknowledged is removed")
    func staleLeaseOfSettledJobIsRemoved() async throws {
        let context = try await Self.context()
        let ids = try await context.submit(2)
        try await context.queue.enqueue(ids.map { QueuedJob(jobID: $0, teamID: context.team, priority: 0) })
        let claims = try await context.queue.claim(max: 2, lease: .seconds(30)).claims
        #expect(claims.count == 2)
        // Both settled in PostgreSQL (one completed, one cancelled); the worker died before its
        // acknowledgement, and its lease ran out a minute ago.
        try await context.postgres.query(
            """
            UPDATE jobs SET status = CASE WHEN job_id = $1 THEN 'completed' ELSE 'cancelled' END, completed_at = now(), updated_at = now()
            WHERE job_id = ANY($2::text[]::uuid[])
            """,
            [.uuid(ids[0]), .textArray(ids.map(\.lowercasedString))]
        )
        let expired = Date().queueMilliseconds - 60_000
        for id in ids {
            try await context.redis.send("ZADD", RedisArgument(context.queue.keys.leases), RedisArgument(expired), RedisArgument(id.lowercasedString))
        }
        _ = try await context.sweeper().sweepOnce()
        #expect(try await context.queue.held(ids).isEmpty)
        try await context.shutdown()
    }

    @Test("after Redis lost its data, a job waiting for a retry is scheduled for its retry_at, not ready at once")
    func reenqueueHonoursRetryAt() async throws {
        let context = try await Self.context()
        let ids = try await context.submit(2)
        try await context.postgres.query("UPDATE jobs SET retry_at = now() + interval '60 seconds' WHERE job_id = $1", [.uuid(ids[0])])
        _ = try await context.sweeper().sweepOnce()
        #expect(try await context.queue.held(ids) == Set(ids))
        let claimed = try await context.queue.claim(max: 10, lease: .seconds(30)).claims.map(\.jobID)
        #expect(claimed == [ids[1]])
        let score = try await context.redis.send("ZSCORE", RedisArgument(context.queue.keys.scheduled), RedisArgument(ids[0].lowercasedString))
        let due = try #require(score.string.flatMap(Double.init))
        #expect(abs(due / 1000 - Date().addingTimeInterval(60).timeIntervalSince1970) < 10)
        try await context.shutdown()
    }

    // MARK: item 15

    @Test("with the marker intact a sweep reads only the queued jobs changed since its watermark; without it, all")
    func incrementalReenqueue() async throws {
        let context = try await Self.context()
        let old = try await context.submit(20, age: 600)
        let sweeper = context.sweeper()
        let first = try #require(try await sweeper.sweepOnce())
        #expect(first.fullReenqueue)
        #expect(first.queuedRead >= 20)
        #expect(try await context.queue.held(old) == Set(old))
        // A submit committed but never enqueued (its API process died), two seconds ago.
        let fresh = try await context.submit(1, age: 2)
        let second = try #require(try await sweeper.sweepOnce())
        #expect(!second.fullReenqueue)
        #expect(second.queuedRead < 20, "the sweep re-read the backlog: \(second.queuedRead) rows")
        #expect(try await context.queue.held(fresh) == Set(fresh))
        // Redis loses its data: the marker goes with it, and the next sweep re-enqueues everything.
        try await QueueTests.loseData(context.queue)
        let third = try #require(try await sweeper.sweepOnce())
        #expect(third.fullReenqueue)
        #expect(try await context.queue.held(old + fresh) == Set(old + fresh))
        try await context.shutdown()
    }

    @Test("a database clock set back behind the watermark: one full re-enqueue finds what was written since, then passes are incremental again")
    func clockSetBack() async throws {
        let context = try await Self.context()
        let sweeper = context.sweeper()
        _ = try #require(try await sweeper.sweepOnce())
        let epoch = try #require(try await context.queue.sweepMarker().epoch)
        // The server's clock ran ten minutes fast when the last pass set the watermark, and has
        // been set right since.
        let now = try await context.store.databaseClock().now
        #expect(try await context.queue.advanceSweepMarker(epoch: epoch, watermark: now.addingTimeInterval(600)))
        // A submit committed but never enqueued (its API process died), two seconds ago by the
        // corrected clock: under the watermark, so no incremental pass would read it.
        let fresh = try await context.submit(1, age: 2)
        let report = try #require(try await sweeper.sweepOnce())
        #expect(report.fullReenqueue)
        #expect(try await context.queue.held(fresh) == Set(fresh))
        let watermark = try #require(try await context.queue.sweepMarker().watermark)
        #expect(watermark < now.addingTimeInterval(5), "the watermark stayed ahead of the clock: \(watermark) against \(now)")
        let next = try #require(try await sweeper.sweepOnce())
        #expect(!next.fullReenqueue)
        try await context.shutdown()
    }

    @Test(
        "a database clock set back by less than it advanced by the next pass: this process's own clock shows the step, and one full re-enqueue finds what was written under the watermark"
    )
    func clockSetBackMadeUp() async throws {
        let context = try await Self.context()
        let watch = ClockStepWatch()
        let sweeper = context.sweeper(clockSteps: watch)
        _ = try #require(try await sweeper.sweepOnce())
        let watermark = try #require(try await context.queue.sweepMarker().watermark)
        let now = try await context.store.databaseClock().now
        #expect(watermark < now, "the watermark trails the clock, so the old check cannot see this step")
        // This process's last reading of the database's clock was 20 s ahead of where the clock
        // is now, a moment ago by its own monotonic clock: the server's time was set back 20 s.
        _ = watch.steppedBack(.init(database: now.addingTimeInterval(20), sent: .now, answered: .now))
        // A submit committed after the step, never enqueued (its API process died): ten seconds
        // ago by the corrected clock, under the watermark the last pass set.
        let fresh = try await context.submit(1, age: 10)
        let report = try #require(try await sweeper.sweepOnce())
        #expect(report.fullReenqueue)
        #expect(try await context.queue.held(fresh) == Set(fresh))
        let next = try #require(try await sweeper.sweepOnce())
        #expect(!next.fullReenqueue, "a pass right after, the clock steady: incremental again")
        try await context.shutdown()
    }

    @Test("ClockStepWatch: a step back past the tolerance is seen; a steady clock, a slow answer, a step forward or NTP's slewing are not")
    func clockStepWatch() {
        let watch = ClockStepWatch(tolerance: .seconds(1))
        let start = ContinuousClock.now
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        func reading(database: TimeInterval, sent: Double, answered: Double) -> ClockStepWatch.Reading {
            .init(database: t0.addingTimeInterval(database), sent: start + .seconds(sent), answered: start + .seconds(answered))
        }
        #expect(!watch.steppedBack(reading(database: 0, sent: 0, answered: 0.01)), "the first reading has nothing to compare with")
        #expect(!watch.steppedBack(reading(database: 10, sent: 10, answered: 10.01)), "steady")
        // An answer that took 5 s, whose `now()` was taken late in it: only 5 s surely passed
        // from that answer to the next reading's sending, whatever the sendings say (10 s).
        #expect(!watch.steppedBack(reading(database: 24.9, sent: 20, answered: 25)), "a slow answer")
        #expect(!watch.steppedBack(reading(database: 30, sent: 30, answered: 30.01)), "after a slow answer")
        #expect(!watch.steppedBack(reading(database: 3_640, sent: 40, answered: 40.01)), "a step forward")
        #expect(!watch.steppedBack(reading(database: 3_649.5, sent: 50, answered: 50.01)), "0.5 s slow over 10 s: within the tolerance")
        #expect(watch.steppedBack(reading(database: 3_657, sent: 60, answered: 60.01)), "advanced 7.5 s while 10 s passed")
        watch.swept()
        #expect(!watch.steppedBack(reading(database: 3_667, sent: 70, answered: 70.01)), "steady again after the step")
        // An hour to the next pass (another process held the lock): NTP may have slewed the two
        // clocks 3.6 s apart, which is no step; 10 s is one, and so is 6 s over a day (the
        // allowance stops at the 5 s under which a step loses nothing).
        #expect(!watch.steppedBack(reading(database: 7_263.4, sent: 3_670, answered: 3_670.01)), "slewed 3.6 s over an hour")
        #expect(watch.steppedBack(reading(database: 10_853.4, sent: 7_270, answered: 7_270.01)), "10 s back over an hour")
        watch.swept()
        #expect(watch.steppedBack(reading(database: 97_247.4, sent: 93_670, answered: 93_670.01)), "6 s back over a day")
        watch.swept()
        #expect(!watch.steppedBack(reading(database: 97_257.4, sent: 93_680, answered: 93_680.01)), "steady")
        // A step the pass saw some other way (the watermark ahead), and the pass then failed
        // before its full re-enqueue: the next one, comparing with the reading after the step,
        // still owes it — until a full pass is done.
        watch.owe()
        #expect(watch.steppedBack(reading(database: 97_267.4, sent: 93_690, answered: 93_690.01)), "not yet swept")
        watch.swept()
        #expect(!watch.steppedBack(reading(database: 97_277.4, sent: 93_700, answered: 93_700.01)), "swept")
    }

    @Test("the watermark stays under the oldest open transaction, whose rows become visible only when it commits")
    func watermarkWaitsForOpenTransactions() async throws {
        let context = try await Self.context()
        let sweeper = Sweeper(
            jobs: context.store,
            queue: context.queue,
            workers: WorkerRegistry(queue: context.queue),
            interval: .seconds(1),
            watermarkMargin: .milliseconds(500),
            logger: Logger(label: "sweeper-test")
        )
        let ids = try await context.submit(1, age: 600)
        let first = try #require(try await sweeper.sweepOnce())
        #expect(!first.watermarkFixedLag)
        // Nothing else is open in this test's database: the watermark trails the clock by the
        // second left to submitters and the margin, not by a fixed minute.
        let quiet = try #require(try await context.queue.sweepMarker().watermark)
        let now = try await context.store.databaseClock().now
        #expect(now.timeIntervalSince(quiet) < 5, "the watermark trails by \(now.timeIntervalSince(quiet)) s")
        // A transaction puts the job back in the queue (updated_at = its start) and stays open
        // past the margin; its enqueue after commit is lost (the job is not in Redis).
        try await context.queue.remove(ids, completed: [])
        let started = try await context.postgres.withTransaction { tx -> Date in
            let started: Date = try await tx.query("SELECT now() AS now").first!.decode("now")
            try await tx.query("UPDATE jobs SET updated_at = now() WHERE job_id = $1", [.uuid(ids[0])])
            try await Task.sleep(for: .seconds(2))
            let clock = try await context.store.databaseClock()
            #expect(clock.oldestOpenTransaction == started)
            #expect(!clock.hiddenSessions)
            _ = try #require(try await sweeper.sweepOnce())
            let held = try #require(try await context.queue.sweepMarker().watermark)
            #expect(held <= started.addingTimeInterval(-0.5), "the watermark passed an open transaction's start")
            return started
        }
        // Committed: the next pass reads the row it could not see, whose updated_at is `started`.
        try await Task.sleep(for: .seconds(1))
        let after = try #require(try await sweeper.sweepOnce())
        #expect(after.queuedRead >= 1)
        #expect(try await context.queue.held(ids) == Set(ids))
        #expect(try await context.queue.sweepMarker().watermark! > started)
        try await context.shutdown()
    }

    @Test("the next watermark: the oldest open transaction less the margin, never past the submitters' second, a fixed lag when sessions hide")
    func nextWatermarkRules() async throws {
        let context = try await Self.context()
        let sweeper = Sweeper(
            jobs: context.store,
            queue: context.queue,
            workers: nil,
            interval: .seconds(1),
            watermarkLag: .seconds(60),
            watermarkMargin: .seconds(5),
            logger: Logger(label: "sweeper-test")
        )
        let now = Date(timeIntervalSince1970: 2_000_000_000)
        let before = now.addingTimeInterval(-1)
        #expect(sweeper.nextWatermark(DatabaseClock(now: now), before: before) == before.addingTimeInterval(-5))
        let old = now.addingTimeInterval(-300)
        #expect(sweeper.nextWatermark(DatabaseClock(now: now, oldestOpenTransaction: old), before: before) == old.addingTimeInterval(-5))
        // A transaction younger than `before` holds nothing back that `before` does not.
        let young = now.addingTimeInterval(-0.2)
        #expect(sweeper.nextWatermark(DatabaseClock(now: now, oldestOpenTransaction: young), before: before) == before.addingTimeInterval(-5))
        #expect(sweeper.nextWatermark(DatabaseClock(now: now, hiddenSessions: true), before: before) == before.addingTimeInterval(-60))
        try await context.shutdown()
    }

    @Test("after Redis lost its data, a paused fleet stays paused: the sweep sets the queue from PostgreSQL's record")
    func pauseOutlivesRedis() async throws {
        let context = try await Self.context()
        let pauses = PostgresFleetPauseStore(postgres: context.postgres)
        let sweeper = Sweeper(
            jobs: context.store,
            queue: context.queue,
            workers: nil,
            pauses: pauses,
            interval: .seconds(1),
            suspensionGrace: .seconds(5),
            logger: Logger(label: "sweeper-test")
        )
        // An admin's pause, as `FleetControl` makes it: recorded, then set in the queue.
        try await pauses.record(paused: true)
        _ = try await context.queue.setPaused(true)
        let since = try #require(try await pauses.recorded()?.since)
        try await pauses.record(paused: true)
        #expect(try await pauses.recorded() == QueuePause(paused: true, since: since), "a repeated pause keeps its since")
        #expect(try #require(try await sweeper.sweepOnce()).pauseCorrected == false)
        // Redis loses its data: its pause goes with it, and claims would resume.
        try await QueueTests.loseData(context.queue)
        #expect(try await context.queue.pauseState().paused == false)
        let report = try #require(try await sweeper.sweepOnce())
        #expect(report.pauseCorrected)
        #expect(try await context.queue.pauseState().paused)
        #expect(try await context.queue.claim(max: 1, lease: .seconds(30)).paused)
        // A queue pause changed within the grace is the admin call's, still on its way: left.
        _ = try await context.queue.setPaused(false)
        #expect(try #require(try await sweeper.sweepOnce()).pauseCorrected == false)
        #expect(try await context.queue.pauseState().paused == false)
        try await pauses.record(paused: false)
        #expect(try await pauses.recorded()?.paused == false)
        #expect(try await pauses.recorded()?.since ?? since > since, "a change moves since")
        try await context.shutdown()
    }

    @Test("the sweeper's filters use the partial indexes of live jobs")
    func sweeperQueriesUseIndexes() async throws {
        let context = try await Self.context()
        let plans = try await context.postgres.withConnection { session in
            try await session.query("SET enable_seqscan = off")
            var plans: [String] = []
            for sql in [
                "SELECT job_id FROM jobs WHERE status IN ('pending', 'queued', 'in_progress', 'cancelling') AND expires_at < now() ORDER BY expires_at LIMIT 1000",
                "SELECT job_id FROM jobs WHERE status IN ('in_progress', 'cancelling') AND lease_expires_at < now() ORDER BY lease_expires_at LIMIT 1000",
                "SELECT job_id FROM jobs WHERE status = 'queued' AND updated_at >= now() - interval '1 minute' AND updated_at < now() ORDER BY updated_at, job_id LIMIT 5000",
            ] {
                let rows = try await session.query("EXPLAIN " + sql)
                plans.append(try rows.map { try $0.decode("QUERY PLAN", as: String.self) }.joined(separator: "\n"))
            }
            try await session.query("RESET enable_seqscan")
            return plans
        }
        // Which of the live-job indexes the planner takes depends on the table's statistics; what
        // a sweep's cost needs is that none of its reads scans the whole table.
        for plan in plans {
            #expect(!plan.contains("Seq Scan"), "\(plan)")
            #expect(["jobs_live_expires", "jobs_leased", "jobs_queued_changed"].contains { plan.contains($0) }, "\(plan)")
        }
        try await context.shutdown()
    }
}
