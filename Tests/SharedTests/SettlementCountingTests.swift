import Foundation
import Logging
import MetricsTesting
import Postgres
import Redis
import Telemetry
import Testing

@testable import Shared

/// `saas_jobs_finished_total` and `saas_credits_charged_total` on every path that ends jobs or
/// charges credits, not only the worker's settlements: the sweeper's expiry, a cancel, a
/// step-by-step job's `complete` — each counted once, from what its transaction committed, and a
/// step-by-step job's calls never counted as finished jobs. Also: the queue gauges of a sweep
/// that failed go to 0.
@Suite("Settlement counting outside the worker's settlements", .serialized)
struct SettlementCountingTests {
    struct Context {
        let postgres: PostgresClient
        let store: PostgresJobStore
        let team: String

        /// `count` queued jobs of the team (1 credit reserved each), not enqueued.
        func submit(_ count: Int) async throws -> [UUID] {
            let submissions = JobSubmission.chats(count, team: team)
            for result in try await store.submit(submissions) { _ = try result.get() }
            return submissions.map(\.jobID)
        }

        /// A step-by-step job (created without work: `pending`).
        func container() async throws -> UUID {
            let submission = JobSubmission(
                teamID: team,
                jobType: "steps",
                userID: nil,
                metadata: [:],
                modelGroup: nil,
                work: nil,
                priority: 0,
                expiresAt: Date().addingTimeInterval(3600),
                estimate: nil,
                callsPlanned: 0,
                idempotencyKey: nil,
                requestHash: nil
            )
            _ = try #require(try await store.submit([submission]).first).get()
            return submission.jobID
        }

        /// Queues a call on `jobID`, runs it and settles it completed after `tokens` tokens.
        func completedCall(of jobID: UUID, tokens: Int) async throws -> SettlementTally {
            let work = JobWork(messages: [.object(["role": .string("user"), "content": .string("step")])])
            let (call, _) = try await store.queueCall(
                CallRequest(jobID: jobID, teamID: team, modelGroup: "grp", work: work, estimate: Billing.Estimate(totalTokens: 10_000, maxCostUSD: 0))
            )
            let (claimed, _) = try await store.markInProgress([Claim(jobID: call.jobID, token: UUID())], workerID: "w", lease: .seconds(30))
            let claim = try #require(claimed.first).claim
            let usage = TokenUsage(promptTokens: tokens / 2, completionTokens: tokens - tokens / 2)
            let settlement = Settlement(
                claim: claim,
                outcome: .completed(result: .string("ok"), usage: usage, costUSD: 0, charge: 1_000_000),
                calls: [],
                reachedUpstream: true
            )
            let (results, tally) = try await store.settleTallied([settlement])
            #expect(results == [.settled(.completed)])
            return tally
        }
    }

    /// A sweeper over the context's store and `queue`, counting into `metrics`; no worker
    /// heartbeats, so every lease expiry counts toward poison (after the third).
    static func sweeper(_ context: Context, _ queue: RedisJobQueue, _ metrics: RecordingMetrics) -> Sweeper {
        Sweeper(
            jobs: context.store,
            queue: queue,
            workers: nil,
            interval: .seconds(1),
            poisonAfter: 3,
            queueGauges: nil,
            settlements: SettlementMetrics(factory: metrics, teams: TeamLabels(limit: 10)),
            logger: Logger(label: "settlement-counting-test")
        )
    }

    /// `database`: suites that leave rows the sweeper tests must not meet (a claimed job whose
    /// request no worker can read) take a database of their own.
    static func context(database: String = "settlement_counts") async throws -> Context {
        let postgres = try await TestEnvironment.ownDatabase(database)
        let team = "sc-\(UUID().uuidString.prefix(8).lowercased())"
        try await postgres.query(
            "INSERT INTO organizations (organization_id, name) VALUES ('sc-org', 'settlement counts') ON CONFLICT DO NOTHING"
        )
        // Charged by tokens: a step-by-step job's calls are charged when it ends, however it ends.
        try await postgres.query(
            "INSERT INTO teams (team_id, organization_id, budget_mode, tokens_per_credit) VALUES ($1, 'sc-org', 'consumption_tokens', 1000)",
            [.text(team)]
        )
        try await postgres.query("INSERT INTO credit_accounts (team_id, credits_allocated) VALUES ($1, 100000)", [.text(team)])
        return Context(postgres: postgres, store: PostgresJobStore(postgres: postgres), team: team)
    }

    @Test("the sweeper's expiry counts each expired job as `expired`, once, after its transaction")
    func sweeperExpiry() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = QueueTests.queue(redis)
        let ids = try await context.submit(3)
        try await context.postgres.query(
            "UPDATE jobs SET expires_at = now() - interval '1 second' WHERE job_id = ANY($1::text[]::uuid[])",
            [.textArray(ids.prefix(2).map(\.lowercasedString))]
        )
        let metrics = RecordingMetrics()
        let sweeper = Self.sweeper(context, queue, metrics)
        let report = try #require(try await sweeper.sweepOnce())
        #expect(report.expired >= 2)
        #expect(finished(metrics, context.team, .expired) == 2)
        _ = try await sweeper.sweepOnce()
        #expect(finished(metrics, context.team, .expired) == 2, "an expiry is counted once")
        try await QueueTests.loseData(queue)
    }

    @Test("the sweeper's lease recovery counts a poisoned job `failed` and a cancelling one `cancelled`, once; a job back in the queue nothing")
    func sweeperLeaseRecovery() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = QueueTests.queue(redis)
        let ids = try await context.submit(3)
        _ = try await context.store.markInProgress(ids.map { Claim(jobID: $0, token: UUID()) }, workerID: "gone", lease: .seconds(30))
        // All three leases ran out: the first on its last chance, the second being cancelled.
        try await context.postgres.query(
            "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE job_id = ANY($1::uuid[])",
            [.textArray(ids.map(\.lowercasedString))]
        )
        try await context.postgres.query("UPDATE jobs SET lease_expiries = 2 WHERE job_id = $1", [.uuid(ids[0])])
        try await context.postgres.query("UPDATE jobs SET status = 'cancelling' WHERE job_id = $1", [.uuid(ids[1])])
        let metrics = RecordingMetrics()
        let sweeper = Self.sweeper(context, queue, metrics)
        let report = try #require(try await sweeper.sweepOnce())
        #expect(report.leasesRecovered >= 3)
        #expect(finished(metrics, context.team, .failed) == 1)
        #expect(finished(metrics, context.team, .cancelled) == 1)
        #expect(finished(metrics, context.team, .queued) == 0)
        let statuses = try await context.postgres.query(
            "SELECT job_id, status FROM jobs WHERE job_id = ANY($1::uuid[])",
            [.textArray(ids.map(\.lowercasedString))]
        ).reduce(into: [UUID: String]()) { $0[try $1.decode("job_id")] = try $1.decode("status") }
        #expect(statuses == [ids[0]: "failed", ids[1]: "cancelled", ids[2]: "queued"])
        _ = try await sweeper.sweepOnce()
        #expect(finished(metrics, context.team, .failed) == 1, "a recovery is counted once")
        #expect(finished(metrics, context.team, .cancelled) == 1, "a recovery is counted once")
        try await QueueTests.loseData(queue)
    }

    @Test("a cancel of a queued or pending job counts `cancelled`; of a running one nothing (its worker's settlement counts it)")
    func cancelTally() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let ids = try await context.submit(2)
        let (cancelled, tally) = try await context.store.cancelTallied(ids[0])
        #expect(cancelled.status == .cancelled)
        #expect(tally.ended == [.init(teamID: context.team, status: .cancelled): 1])
        #expect(tally.charged.isEmpty)
        _ = try await context.store.markInProgress([Claim(jobID: ids[1], token: UUID())], workerID: "w", lease: .seconds(30))
        let (cancelling, none) = try await context.store.cancelTallied(ids[1])
        #expect(cancelling.status == .cancelling)
        #expect(none.isEmpty)
        let (pending, once) = try await context.store.cancelTallied(try await context.container())
        #expect(pending.status == .cancelled)
        #expect(once.ended == [.init(teamID: context.team, status: .cancelled): 1])
    }

    @Test("a step-by-step job: its calls count no finished job; its complete counts it once, with the credits charged")
    func stepByStep() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let jobID = try await context.container()
        for _ in 0..<2 {
            let callTally = try await context.completedCall(of: jobID, tokens: 3000)
            #expect(callTally.ended.isEmpty, "a call is no finished job")
            #expect(callTally.charged.isEmpty, "its charge is deferred to the job's complete")
        }
        let completion = try await context.store.complete(jobID, teamID: context.team, ending: .completed, metadata: nil, errorMessage: nil)
        #expect(completion.settledNow)
        #expect(completion.job.creditsCharged > 0)
        #expect(completion.tally.ended == [.init(teamID: context.team, status: .completed): 1])
        #expect(completion.tally.charged == [context.team: completion.job.creditsCharged])
        let used: Int = try await context.postgres.query("SELECT credits_used FROM credit_accounts WHERE team_id = $1", [.text(context.team)])
            .first!.decode("credits_used")
        #expect(used == completion.job.creditsCharged, "the tally is what the ledger charged")

        let metrics = RecordingMetrics()
        let settlements = SettlementMetrics(factory: metrics, teams: TeamLabels(limit: 10))
        settlements.record(completion.tally)
        let again = try await context.store.complete(jobID, teamID: context.team, ending: .completed, metadata: nil, errorMessage: nil)
        #expect(!again.settledNow && again.tally.isEmpty)
        settlements.record(again.tally)
        #expect(finished(metrics, context.team, .completed) == 1)
        #expect(metrics.total(MetricName.creditsCharged, [(MetricLabel.team, context.team)]) == Double(completion.job.creditsCharged))
    }

    @Test("a step-by-step job that expires counts once as `expired`, its completed calls' charges with it")
    func stepByStepExpiry() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let jobID = try await context.container()
        _ = try await context.completedCall(of: jobID, tokens: 3000)
        try await context.postgres.query(
            "UPDATE jobs SET expires_at = now() - interval '1 second' WHERE job_id = $1 OR parent_job_id = $1",
            [.uuid(jobID)]
        )
        var tally = SettlementTally()
        while true {
            let (expired, part) = try await context.store.expireOverdueTallied(limit: 1000)
            tally.add(part)
            if expired.count < 1000 { break }
        }
        #expect(tally.ended[.init(teamID: context.team, status: .expired)] == 1)
        let charged: Int = try await context.postgres.query("SELECT credits_used FROM credit_accounts WHERE team_id = $1", [.text(context.team)])
            .first!.decode("credits_used")
        #expect(charged > 0)
        #expect(tally.charged[context.team] == charged)
    }

    @Test("the queue gauges go to 0 when the sweep of the process that read them fails (PostgreSQL down)")
    func gaugesClearedOnFailure() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = QueueTests.queue(redis)
        let jobIDs = try await context.submit(2)
        // Enqueued after commit, as the API does (the gauges count what the queue holds).
        try await queue.enqueue(jobIDs.map { QueuedJob(jobID: $0, teamID: context.team, priority: 0) })
        let metrics = RecordingMetrics()
        let gauges = QueueGauges(factory: metrics, teams: TeamLabels(limit: 100_000))
        let ready = { metrics.gauge(MetricName.queueJobs, [(MetricLabel.team, context.team), (MetricLabel.state, MetricLabel.ready)]) }
        let sweeper = { (store: any JobStore) in
            Sweeper(jobs: store, queue: queue, workers: nil, interval: .seconds(1), queueGauges: gauges, logger: Logger(label: "gauges-test"))
        }
        _ = try await sweeper(context.store).sweepOnce()
        #expect(ready() == 2)
        // Nothing listens on port 1: every connection is refused, as with PostgreSQL down.
        let down = PostgresClient(
            configuration: PostgresConfiguration(url: "postgresql://saas:saas@127.0.0.1:1/none", poolSize: 1, applicationName: "saas-tests")
        )
        defer { down.shutdown() }
        await #expect(throws: (any Error).self) { try await sweeper(PostgresJobStore(postgres: down)).sweepOnce() }
        #expect(ready() == 0, "a failed sweep leaves no stale figures")
        try await QueueTests.loseData(queue)
    }

    private func finished(_ metrics: RecordingMetrics, _ team: String, _ status: JobStatus) -> Double {
        metrics.total(MetricName.jobsFinished, [(MetricLabel.team, team), (MetricLabel.status, status.rawValue)])
    }
}
