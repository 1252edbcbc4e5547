import Foundation
import Logging
import MetricsTesting
import Postgres
import Redis
import Telemetry
import Testing

@testable import Shared

/// The metrics recorded below the worker: the clients' round trips and transactions, the
/// settlement's tally, and the queue's gauges read by the sweeper.
@Suite("Metrics of the clients, the settlement tally and the queue gauges", .serialized)
struct SharedMetricsTests {
    @Test("Redis: one round trip per command, pipeline or script, whatever it carries")
    func redisRoundTrips() async throws {
        let metrics = RecordingMetrics()
        let redis = RedisClient(configuration: try TestEnvironment.redisConfiguration(), metrics: metrics)
        defer { redis.shutdown() }
        try await redis.send("PING")
        #expect(metrics.total(MetricName.redisRoundTrips) == 1)
        _ = try await redis.pipeline([RedisCommand("PING"), RedisCommand("PING"), RedisCommand("PING")])
        #expect(metrics.total(MetricName.redisRoundTrips) == 2)
        #expect(metrics.series(MetricName.redisRoundTrips).count == 1)
        #expect(Int(metrics.total(MetricName.redisRoundTrips)) == redis.roundTripCount)
    }

    @Test("PostgreSQL: each transaction counted under the kind its caller names, `other` by default")
    func postgresTransactions() async throws {
        let metrics = RecordingMetrics()
        let postgres = PostgresClient(
            configuration: PostgresConfiguration(url: TestEnvironment.databaseURL, poolSize: 1, applicationName: "saas-tests"),
            metrics: metrics
        )
        defer { postgres.shutdown() }
        try await postgres.withTransaction(kind: .settle) { try await $0.query("SELECT 1") }
        try await postgres.withTransaction(kind: .settle) { try await $0.query("SELECT 1") }
        try await postgres.withTransaction { try await $0.query("SELECT 1") }
        struct Refused: Error {}
        _ = try? await postgres.withTransaction(kind: .submit) { _ in throw Refused() }
        // A plain query is no transaction.
        try await postgres.query("SELECT 1")
        #expect(metrics.total(MetricName.postgresTransactions, [(MetricLabel.kind, "settle")]) == 2)
        #expect(metrics.total(MetricName.postgresTransactions, [(MetricLabel.kind, "other")]) == 1)
        #expect(metrics.total(MetricName.postgresTransactions, [(MetricLabel.kind, "submit")]) == 1)
        #expect(metrics.series(MetricName.postgresTransactions).count == PostgresTransactionKind.allCases.count)
    }

    @Test(
        "the settlement tally: ended jobs per team and status, credits charged as the ledger charges them; a step-by-step job's calls are no finished jobs"
    )
    func settlementTally() {
        let (a1, a2, b1, b2, lost, b3) = (claim(), claim(), claim(), claim(), claim(), claim())
        let completed = { (charge: Int) in
            Settlement.Outcome.completed(result: .string("ok"), usage: TokenUsage(promptTokens: 1, completionTokens: 1), costUSD: 0, charge: charge)
        }
        let settlements = [
            Settlement(claim: a1, outcome: completed(4), calls: [], reachedUpstream: true),
            // More than reserved: charged what was reserved.
            Settlement(claim: a2, outcome: completed(50), calls: [], reachedUpstream: true),
            // Cancelled meanwhile: cancelled, nothing charged.
            Settlement(claim: b1, outcome: completed(3), calls: [], reachedUpstream: true),
            // A call of an open step-by-step job: completed, its charge deferred to the job.
            Settlement(claim: b2, outcome: completed(3), calls: [], reachedUpstream: true),
            Settlement(claim: lost, outcome: completed(3), calls: [], reachedUpstream: true),
            // A call of a step-by-step job that already ended (cancelled while it ran): charged, no job of its own.
            Settlement(claim: b3, outcome: completed(2), calls: [], reachedUpstream: true),
            Settlement(claim: a1, outcome: .retry(delay: .zero, countsAttempt: true, message: nil), calls: [], reachedUpstream: true),
        ]
        let held = [
            held(a1, "a", reserved: 10),
            held(a2, "a", reserved: 20),
            held(b1, "b", status: .cancelling, reserved: 10),
            SettlementPlan.HeldJob(
                jobID: b2.jobID,
                teamID: "b",
                status: .inProgress,
                leaseToken: b2.token,
                creditsReserved: 10,
                reservationNumber: 1,
                defersCharge: true,
                isCall: true
            ),
            SettlementPlan.HeldJob(
                jobID: b3.jobID,
                teamID: "b",
                status: .inProgress,
                leaseToken: b3.token,
                creditsReserved: 10,
                reservationNumber: 1,
                isCall: true
            ),
        ]
        let tally = SettlementTally(SettlementPlan(settlements, held: held), held: held)
        #expect(tally.ended == [.init(teamID: "a", status: .completed): 2, .init(teamID: "b", status: .cancelled): 1])
        #expect(tally.charged == ["a": 24, "b": 2])
        var sum = tally
        sum.add(tally)
        #expect(sum.charged == ["a": 48, "b": 4])
        #expect(sum.ended[.init(teamID: "b", status: .cancelled)] == 2)
        #expect(SettlementTally(SettlementPlan([], held: []), held: []).isEmpty)
    }

    @Test("queue gauges: teams past the bound are summed into `other`, and a team that left goes to 0")
    func queueGaugesBounded() {
        let metrics = RecordingMetrics()
        let gauges = QueueGauges(factory: metrics, teams: TeamLabels(limit: 1))
        let now = Date()
        gauges.record(
            [
                TeamQueueStats(teamID: "t1", queued: 1, scheduled: 0, inProgress: 2, oldestQueuedAt: now.addingTimeInterval(-5)),
                TeamQueueStats(teamID: "t2", queued: 3, scheduled: 1, inProgress: 0, oldestQueuedAt: now.addingTimeInterval(-40)),
                TeamQueueStats(teamID: "t3", queued: 4, scheduled: 0, inProgress: 1, oldestQueuedAt: now.addingTimeInterval(-20)),
            ],
            now: now
        )
        #expect(jobs(metrics, "t1") == [1, 0, 2])
        #expect(jobs(metrics, "other") == [7, 1, 1])
        #expect(metrics.gauge(MetricName.queueOldestReady, [(MetricLabel.team, "other")]) == 40)
        gauges.record([TeamQueueStats(teamID: "t1", queued: 1, scheduled: 0, inProgress: 0, oldestQueuedAt: now)], now: now)
        #expect(jobs(metrics, "other") == [0, 0, 0])
        #expect(metrics.gauge(MetricName.queueOldestReady, [(MetricLabel.team, "other")]) == 0)
        gauges.clear()
        #expect(jobs(metrics, "t1") == [0, 0, 0])
    }

    @Test("queue gauges from a sweep of a real queue: two teams, then one drained goes to 0")
    func queueGaugesFromSweep() async throws {
        let postgres = try await TestEnvironment.ownDatabase("queue_metrics")
        let redis = try TestEnvironment.redis()
        let store = PostgresJobStore(postgres: postgres)
        let queue = QueueTests.queue(redis)
        let metrics = RecordingMetrics()
        let (busy, drained) = ("qm-\(UUID().uuidString.prefix(8).lowercased())", "qm-\(UUID().uuidString.prefix(8).lowercased())")
        try await postgres.query("INSERT INTO organizations (organization_id, name) VALUES ('qm-org', 'queue metrics') ON CONFLICT DO NOTHING")
        // Leftovers of earlier runs are not this test's queue.
        try await postgres.query(
            "UPDATE jobs SET status = 'cancelled', completed_at = now(), lease_token = NULL, lease_expires_at = NULL WHERE status IN ('queued', 'in_progress', 'cancelling')"
        )
        for team in [busy, drained] {
            try await postgres.query("INSERT INTO teams (team_id, organization_id) VALUES ($1, 'qm-org')", [.text(team)])
            try await postgres.query("INSERT INTO credit_accounts (team_id, credits_allocated) VALUES ($1, 1000)", [.text(team)])
        }
        let busyJobs = try await submit(3, team: busy, store)
        let drainedJobs = try await submit(2, team: drained, store)
        // Enqueued after commit, as the API does (the gauges count what the queue holds).
        try await queue.enqueue(
            busyJobs.map { QueuedJob(jobID: $0, teamID: busy, priority: 0) } + drainedJobs.map { QueuedJob(jobID: $0, teamID: drained, priority: 0) }
        )
        try await postgres.query("UPDATE jobs SET created_at = created_at - interval '30 seconds' WHERE team_id = $1", [.text(busy)])
        let sweeper = Sweeper(
            jobs: store,
            queue: queue,
            workers: nil,
            interval: .seconds(1),
            queueGauges: QueueGauges(factory: metrics, teams: TeamLabels(limit: 10)),
            logger: Logger(label: "queue-metrics-test")
        )
        #expect(try await sweeper.sweepOnce() != nil)
        #expect(jobs(metrics, busy) == [3, 0, 0])
        #expect(jobs(metrics, drained) == [2, 0, 0])
        #expect((metrics.gauge(MetricName.queueOldestReady, [(MetricLabel.team, busy)]) ?? 0) >= 30)
        // The sweep re-enqueued them: a worker claims one of the busy team's.
        let claimed = try await queue.claim(max: 5, lease: .seconds(30)).claims
        let running = Array(claimed.filter { busyJobs.contains($0.jobID) }.prefix(1))
        _ = try await store.markInProgress(running, workerID: "w", lease: .seconds(30))
        // What it does not run, the worker hands back (the gauges count the queue's own leases).
        let handedBack = claimed.filter { !running.contains($0) }.map { Requeue(claim: $0, delay: .zero) }
        try await queue.finish(acknowledge: [], completed: [], requeue: handedBack)
        // Cancelled as the API cancels: in PostgreSQL, then out of the queue.
        for id in drainedJobs { _ = try await store.cancel(id) }
        try await queue.remove(drainedJobs, completed: drainedJobs)
        #expect(try await sweeper.sweepOnce() != nil)
        #expect(jobs(metrics, busy) == [2, 0, 1])
        #expect(jobs(metrics, drained) == [0, 0, 0])
        #expect(metrics.gauge(MetricName.queueOldestReady, [(MetricLabel.team, drained)]) == 0)
        try await QueueTests.loseData(queue)
        postgres.shutdown()
        redis.shutdown()
    }

    // MARK: helpers

    /// A team's `saas_queue_jobs` as [ready, scheduled, leased].
    private func jobs(_ metrics: RecordingMetrics, _ team: String) -> [Double?] {
        [MetricLabel.ready, MetricLabel.scheduled, MetricLabel.leased].map {
            metrics.gauge(MetricName.queueJobs, [(MetricLabel.team, team), (MetricLabel.state, $0)])
        }
    }

    private func claim() -> Claim { Claim(jobID: UUID(), token: UUID()) }

    private func held(_ claim: Claim, _ team: String, status: JobStatus = .inProgress, reserved: Int) -> SettlementPlan.HeldJob {
        SettlementPlan.HeldJob(
            jobID: claim.jobID,
            teamID: team,
            status: status,
            leaseToken: claim.token,
            creditsReserved: reserved,
            reservationNumber: 1
        )
    }

    private func submit(_ count: Int, team: String, _ store: PostgresJobStore) async throws -> [UUID] {
        let submissions = JobSubmission.chats(count, team: team)
        for result in try await store.submit(submissions) { _ = try result.get() }
        return submissions.map(\.jobID)
    }
}
