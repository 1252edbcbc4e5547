import Foundation
import Logging
import Postgres
import Redis
import Testing

@testable import Shared

/// One sweep's time at a backlog of queued jobs (issue 8, item 15): printed, not asserted.
/// `SWEEP_BENCH=10000,100000 swift test --filter SweepBenchmark`.
@Suite("Sweep benchmark", .serialized, .enabled(if: ProcessInfo.processInfo.environment["SWEEP_BENCH"] != nil))
struct SweepBenchmark {
    static var backlogs: [Int] {
        (ProcessInfo.processInfo.environment["SWEEP_BENCH"] ?? "").split(separator: ",").compactMap { Int($0) }
    }

    @Test("one sweep at each backlog: after Redis lost its data (full re-enqueue), then in steady state")
    func sweepTimes() async throws {
        for backlog in Self.backlogs {
            let postgres = try await TestEnvironment.ownDatabase("sweeper")
            let redis = try TestEnvironment.redis()
            let team = "bench-\(UUID().uuidString.prefix(8).lowercased())"
            try await postgres.query(
                "INSERT INTO organizations (organization_id, name) VALUES ('sweeper-org', 'sweeper tests') ON CONFLICT DO NOTHING"
            )
            try await postgres.query("INSERT INTO teams (team_id, organization_id) VALUES ($1, 'sweeper-org')", [.text(team)])
            try await postgres.query("INSERT INTO credit_accounts (team_id, credits_allocated) VALUES ($1, 0)", [.text(team)])
            try await postgres.query(
                """
                INSERT INTO jobs (job_id, team_id, job_type, status, priority, model_group, budget_mode, tokens_per_credit,
                                  credits_per_dollar, expires_at, created_at, updated_at)
                SELECT gen_random_uuid(), $1, 'chat', 'queued', i % 10, 'grp', 'job_based', 10000, 10,
                       now() + interval '1 hour' + i * interval '1 millisecond', now() - interval '10 minutes', now() - interval '10 minutes'
                FROM generate_series(1, $2) AS i
                """,
                [.text(team), .int(backlog)]
            )
            try await postgres.query("ANALYZE jobs")
            let queue = QueueTests.queue(redis)
            let sweeper = Sweeper(
                jobs: PostgresJobStore(postgres: postgres),
                queue: queue,
                workers: WorkerRegistry(queue: queue),
                interval: .seconds(1),
                logger: Logger(label: "bench")
            )
            let clock = ContinuousClock()
            let full = try await clock.measure { _ = try await sweeper.sweepOnce() }
            var steady: [Duration] = []
            for _ in 0..<3 { steady.append(try await clock.measure { _ = try await sweeper.sweepOnce() }) }
            print("SWEEP_BENCH backlog=\(backlog) first sweep (Redis empty, full re-enqueue)=\(full) steady-state sweeps=\(steady)")
            try await postgres.query("DELETE FROM jobs WHERE team_id = $1", [.text(team)])
            try await postgres.query("DELETE FROM teams WHERE team_id = $1", [.text(team)])
            try await QueueTests.loseData(queue)
            postgres.shutdown()
            redis.shutdown()
        }
    }
}
