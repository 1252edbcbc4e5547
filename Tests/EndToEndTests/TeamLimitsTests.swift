import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import Redis
import Shared
import Testing

/// Per-team limits across processes (issue 11): the `submits_per_second` bucket lives in Redis,
/// so two API servers share it; `max_concurrent_jobs` is enforced by the queue's claim, so two
/// workers together never run more of the team's jobs than its cap.
extension EndToEnd {
    /// A submit of a job without work (a step-by-step container): it creates a job, so the submit
    /// limits count it, and needs no worker.
    static func containerSubmit(_ client: any TestClientProtocol, _ team: TestTeam) async throws -> HTTPResponse.Status {
        let body = #"{"team_id":"\#(team.teamID)","job_type":"rate-test"}"#
        return try await client.execute(
            uri: "/api/jobs/create",
            method: .post,
            headers: [.authorization: "Bearer \(team.key)"],
            body: ByteBuffer(string: body)
        ) { $0.status }
    }

    @Test("submits_per_second is one bucket for two API servers: about the rate is accepted in total, the rest is 429")
    func submitBucketShared() async throws {
        let mock = try await MockUpstream(name: "mock-limits-rate")
        do {
            try await runSharedBucket(mock)
        } catch {
            await mock.stop()
            throw error
        }
        await mock.stop()
    }

    private func runSharedBucket(_ mock: MockUpstream) async throws {
        // Two API servers, each with its own clients, caches and port: they share only Redis and
        // PostgreSQL, as two processes do.
        try await E2E.withAPI { first in
            try await E2E.withAPI { second in
                let team = try await Fixture.team(first, mock: mock)
                let (status, _) = try await Fixture.adminCall(first, .put, "/api/teams/\(team.teamID)/limits", #"{"submits_per_second":5}"#)
                #expect(status == .ok)
                var accepted = [0, 0]
                var refused = [0, 0]
                let started = ContinuousClock.now
                var turn = 0
                while ContinuousClock.now - started < .seconds(2) {
                    let client = turn % 2 == 0 ? first : second
                    switch try await Self.containerSubmit(client, team) {
                    case .ok: accepted[turn % 2] += 1
                    case .tooManyRequests: refused[turn % 2] += 1
                    case let other: Issue.record("unexpected \(other)")
                    }
                    turn += 1
                }
                let duration = ContinuousClock.now - started
                let elapsed = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                let total = accepted[0] + accepted[1]
                // A full bucket (5) at the start, then 5 a second (one more for the clocks' edges);
                // a bucket per process would let about twice as many through.
                #expect(total <= 5 + Int((5 * elapsed).rounded(.up)) + 1, "accepted \(accepted), refused \(refused) in \(elapsed)s")
                #expect(total >= 10, "accepted \(accepted), refused \(refused)")
                #expect(refused[0] > 0 && refused[1] > 0, "both servers refuse: accepted \(accepted), refused \(refused)")
                #expect(accepted[0] > 0 && accepted[1] > 0, "both servers admit: accepted \(accepted), refused \(refused)")
            }
        }
    }

    @Test("max_concurrent_jobs 2 under two workers: never more than 2 of the team's jobs run at once, and all complete")
    func concurrencyCapAcrossWorkers() async throws {
        let mock = try await MockUpstream(name: "mock-limits-cap")
        try await mock.behave(#"{"latency_ms":400}"#)
        let workers = [
            try await ManagedProcess.worker("worker-limits-cap-1", concurrency: 4),
            try await ManagedProcess.worker("worker-limits-cap-2", concurrency: 4),
        ]
        // Stopped before the test ends (not in a detached task): the last test of a run must not
        // leave its processes behind.
        func stop() async {
            for worker in workers { await worker.stop() }
            await mock.stop()
        }
        do {
            try await runConcurrencyCap(mock)
        } catch {
            await stop()
            throw error
        }
        await stop()
    }

    private func runConcurrencyCap(_ mock: MockUpstream) async throws {
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        let redis = try E2E.redis()
        defer { redis.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 1000)
            let (status, _) = try await Fixture.adminCall(client, .put, "/api/teams/\(team.teamID)/limits", #"{"max_concurrent_jobs":2}"#)
            #expect(status == .ok)
            var jobIDs: [String] = []
            for index in 0..<8 {
                let (submitted, body) = try await Fixture.submit(client, team, content: "Job \(index)")
                #expect(submitted == .accepted)
                if let id = body["job_id"] as? String { jobIDs.append(id) }
            }
            #expect(jobIDs.count == 8)
            let leased = RedisArgument(QueueKeys().leased(team: team.teamID))
            var mostRunning = 0
            var mostLeased = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let rows = try await postgres.query(
                    """
                    SELECT count(*) FILTER (WHERE status = 'in_progress') AS running,
                           count(*) FILTER (WHERE completed_at IS NULL) AS open
                    FROM jobs WHERE team_id = $1
                    """,
                    [.text(team.teamID)]
                )
                let running = try rows.first!.decode("running", as: Int.self)
                let open = try rows.first!.decode("open", as: Int.self)
                mostRunning = max(mostRunning, running)
                mostLeased = max(mostLeased, try await redis.send("ZCARD", leased).int ?? 0)
                if open == 0 { break }
                try await Task.sleep(for: .milliseconds(40))
            }
            #expect(mostRunning <= 2, "at most 2 in progress at once, saw \(mostRunning)")
            #expect(mostLeased <= 2, "at most 2 leased at once, saw \(mostLeased)")
            #expect(mostRunning == 2, "the cap is used, not just respected: saw \(mostRunning)")
            let finished = try await postgres.query(
                "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND status = 'completed'",
                [.text(team.teamID)]
            )
            #expect(try finished.first!.decode("n", as: Int.self) == 8)
            // The acknowledgement follows the settlement's commit.
            var slotsBack = false
            for _ in 0..<50 where !slotsBack {
                slotsBack = try await redis.send("ZCARD", leased).int == 0
                if !slotsBack { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(slotsBack, "every lease gave its slot back")
        }
        try await Fixture.checkLedger(postgres)
    }
}
