import Foundation
import Logging
import Postgres
import Redis
import Testing

@testable import Shared

/// The queue gauges' figures at a cost that stays flat as the backlog grows (issue 13, item 4):
/// the Redis census counts what the queue holds per team, PostgreSQL gives only each team's oldest
/// queued job on an index.
@Suite("Queue census: per-team counts from Redis, oldest job from an index")
struct QueueCensusTests {
    @Test("census: ready (rotating, parked and capped teams), scheduled and leased per team; empty teams absent")
    func census() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = QueueTests.queue(redis)
        #expect(try await queue.teamCounts().isEmpty)
        let a = (0..<4).map { _ in QueueTests.job("a") }
        let parked = (0..<2).map { _ in QueueTests.job("parked") }
        let capped = (0..<3).map { _ in QueueTests.job("capped") }
        let later = QueueTests.job("later", retryAt: Date().addingTimeInterval(3600))
        try await queue.setConcurrencyCap(teamID: "capped", cap: 1)
        try await queue.enqueue(a + parked + capped + [later])
        try await queue.suspend(teamID: "parked")
        // One turn each: one job of a and one of capped (then at its cap) are leased.
        let claims = try await queue.claim(max: 2, lease: .seconds(30)).claims
        #expect(claims.count == 2)
        let counts = Dictionary(uniqueKeysWithValues: try await queue.teamCounts().map { ($0.teamID, $0) })
        #expect(counts["a"] == TeamQueueCounts(teamID: "a", ready: 3, scheduled: 0, leased: 1))
        #expect(counts["parked"] == TeamQueueCounts(teamID: "parked", ready: 2, scheduled: 0, leased: 0))
        #expect(counts["capped"] == TeamQueueCounts(teamID: "capped", ready: 2, scheduled: 0, leased: 1))
        #expect(counts["later"] == TeamQueueCounts(teamID: "later", ready: 0, scheduled: 1, leased: 0))
        #expect(counts.count == 4)
        // Acknowledged and removed: teams with nothing left are not listed.
        try await queue.finish(acknowledge: claims, completed: [], requeue: [])
        try await queue.remove(a.map(\.jobID) + [later.jobID], completed: [])
        #expect(Set(try await queue.teamCounts().map(\.teamID)) == ["parked", "capped"])
        try await QueueTests.loseData(queue)
    }

    @Test("census: a retry whose delay has passed counts as ready with no claim running (paused), and is ready")
    func dueRetryCountsAsReady() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let queue = QueueTests.queue(redis)
        let retried = QueueTests.job("due")
        let waiting = QueueTests.job("due")
        try await queue.enqueue([retried, waiting])
        let claims = try await queue.claim(max: 2, lease: .seconds(30)).claims
        #expect(claims.count == 2)
        let byID = Dictionary(uniqueKeysWithValues: claims.map { ($0.jobID, $0) })
        try await queue.finish(
            acknowledge: [],
            completed: [],
            requeue: [
                Requeue(claim: try #require(byID[retried.jobID]), delay: .milliseconds(50)),
                Requeue(claim: try #require(byID[waiting.jobID]), delay: .seconds(3600)),
            ]
        )
        // Every worker "full": claiming is paused, so no claim moves the due retry.
        _ = try await queue.setPaused(true)
        try await Task.sleep(for: .milliseconds(150))
        let counts = try await queue.teamCounts()
        #expect(counts == [TeamQueueCounts(teamID: "due", ready: 1, scheduled: 1, leased: 0)])
        // It really is ready: the next claim hands it out, the later retry stays scheduled.
        _ = try await queue.setPaused(false)
        #expect(try await QueueTests.claimed(queue) == [retried.jobID])
        try await QueueTests.loseData(queue)
    }

    @Test("the sweeper's figures from the census equal PostgreSQL's aggregate over live jobs")
    func sweeperFiguresMatchTheAggregate() async throws {
        let postgres = try await TestEnvironment.ownDatabase("census")
        let redis = try TestEnvironment.redis()
        let store = PostgresJobStore(postgres: postgres)
        let queue = QueueTests.queue(redis)
        let teams = (0..<3).map { _ in "qc-\(UUID().uuidString.prefix(8).lowercased())" }
        try await postgres.query("INSERT INTO organizations (organization_id, name) VALUES ('qc-org', 'census') ON CONFLICT DO NOTHING")
        // Leftovers of earlier runs are not this test's queue.
        try await postgres.query(
            "UPDATE jobs SET status = 'cancelled', completed_at = now(), lease_token = NULL, lease_expires_at = NULL WHERE status IN ('queued', 'in_progress', 'cancelling')"
        )
        for team in teams {
            try await postgres.query("INSERT INTO teams (team_id, organization_id) VALUES ($1, 'qc-org')", [.text(team)])
            try await postgres.query("INSERT INTO credit_accounts (team_id, credits_allocated) VALUES ($1, 1000)", [.text(team)])
        }
        for (index, team) in teams.enumerated() {
            for result in try await store.submit(JobSubmission.chats(index + 1, team: team)) { _ = try result.get() }
            try await postgres.query(
                "UPDATE jobs SET created_at = created_at - $2 * interval '10 seconds' WHERE team_id = $1",
                [.text(team), .int(index + 1)]
            )
        }
        let sweeper = Sweeper(jobs: store, queue: queue, workers: nil, interval: .seconds(1), logger: Logger(label: "census-test"))
        _ = try await sweeper.sweepOnce()  // enqueues them (Redis had no marker)
        let claim = try #require(try await queue.claim(max: 1, lease: .seconds(30)).claims.first)
        _ = try await store.markInProgress([claim], workerID: "w", lease: .seconds(30))
        let ours = Set(teams)
        let fromCensus = try await sweeper.queueStats().filter { ours.contains($0.teamID) }
        let fromPostgres = try await store.queueStats().filter { ours.contains($0.teamID) }
        #expect(fromCensus.count == 3)
        #expect(fromCensus == fromPostgres)
        #expect(try await store.oldestQueued(teams: []).isEmpty)
        try await QueueTests.loseData(queue)
        postgres.shutdown()
        redis.shutdown()
    }
}
