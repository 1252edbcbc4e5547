import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import Shared
import Testing

/// Paths users rely on that no test covered (issue 8): attempts exhausted, poison, the admin job
/// routes, usage sums after real jobs, priority order within a team.
extension EndToEnd {
    @Test("a job whose every call fails (500) ends failed after its attempts, its reservation released")
    func attemptsExhausted() async throws {
        let mock = try await MockUpstream(name: "mock-exhaust")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"mode":"server_error","failure_rate":1}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let worker = try await ManagedProcess.worker("worker-exhaust", environment: ["MAX_ATTEMPTS": "3"])
            defer { Task { await worker.stop() } }
            let jobID = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let job = try await Fixture.waitForTerminal(client, team, jobID)
            #expect(job["status"] as? String == "failed")
            #expect((job["error"] as? [String: Any])?["code"] as? String == "upstream_error")
            #expect(job["credits_charged"] as? Int == 0)
            let (_, calls) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/calls")
            let list = try #require(calls["calls"] as? [[String: Any]])
            #expect(list.count == 3)
            #expect(list.allSatisfy { $0["billed"] as? Bool != true })
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_reserved"] as? Int == 0)
            #expect(balance["credits_used"] as? Int == 0)
            #expect(balance["credits_remaining"] as? Int == 10)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("poison: the worker holding a job is killed three times; the job fails as poison, its reservation released")
    func poisonAfterThreeKills() async throws {
        let mock = try await MockUpstream(name: "mock-poison")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"latency_ms":60000}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let jobID = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            for round in 1...3 {
                let worker = try await ManagedProcess.worker("worker-poison-\(round)", concurrency: 1)
                let deadline = ContinuousClock.now + .seconds(30)
                while try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE job_id = $1::uuid AND status = 'in_progress'", [.text(jobID)])
                    == 0
                {
                    guard ContinuousClock.now < deadline else { throw HarnessError.timeout("round \(round): the job never started") }
                    try await Task.sleep(for: .milliseconds(50))
                }
                worker.kill9()
                await worker.waitForExit(timeout: .seconds(5))
                // The API's sweeper takes the lease back once it expired (3 s, plus a sweep).
                let back = ContinuousClock.now + .seconds(20)
                while try await count(
                    postgres,
                    "SELECT count(*) AS n FROM jobs WHERE job_id = $1::uuid AND lease_expiries = $2",
                    [.text(jobID), .int(round)]
                ) == 0 {
                    guard ContinuousClock.now < back else { throw HarnessError.timeout("round \(round): the lease was never taken back and counted") }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let job = try await Fixture.waitForTerminal(client, team, jobID, timeout: .seconds(10))
            #expect(job["status"] as? String == "failed")
            #expect((job["error"] as? [String: Any])?["code"] as? String == "poison")
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_reserved"] as? Int == 0)
            #expect(balance["credits_remaining"] as? Int == 10)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("admin job routes: list with filters and cursor, get with calls, cancel, retry with a new reservation, 402 when short")
    func adminJobRoutes() async throws {
        let mock = try await MockUpstream(name: "mock-admin-jobs")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"mode":"server_error","failure_rate":1}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 3)
            let other = try await Fixture.team(client, mock: mock, credits: 5)
            let failing = try #require(try await Fixture.submit(client, team, content: "fails").1["job_id"] as? String)
            let worker = try await ManagedProcess.worker("worker-admin-jobs", environment: ["MAX_ATTEMPTS": "1"])
            let failed = try await Fixture.waitForTerminal(client, team, failing)
            #expect(failed["status"] as? String == "failed")
            await worker.stop()
            // No worker now: these stay queued.
            let queuedA = try #require(try await Fixture.submit(client, team, content: "a").1["job_id"] as? String)
            let queuedB = try #require(try await Fixture.submit(client, team, content: "b").1["job_id"] as? String)
            _ = try await Fixture.submit(client, other, content: "other")

            // List: by team, newest first, paged by cursor.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let uri = "/api/admin/jobs?team_id=\(team.teamID)&limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let (status, page) = try await Fixture.adminCall(client, .get, uri)
                #expect(status == .ok)
                let jobs = try #require(page["jobs"] as? [[String: Any]])
                #expect(jobs.allSatisfy { $0["team_id"] as? String == team.teamID })
                seen += jobs.compactMap { $0["job_id"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == [queuedB, queuedA, failing])
            let (_, failedOnly) = try await Fixture.adminCall(client, .get, "/api/admin/jobs?team_id=\(team.teamID)&status=failed")
            #expect((failedOnly["jobs"] as? [[String: Any]])?.compactMap { $0["job_id"] as? String } == [failing])

            // Get: the job with its calls, as admins see them.
            let (got, job) = try await Fixture.adminCall(client, .get, "/api/admin/jobs/\(failing)")
            #expect(got == .ok)
            #expect(job["status"] as? String == "failed")
            #expect((job["calls"] as? [[String: Any]])?.count == 1)

            // Cancel any team's job.
            let (cancelled, cancelledJob) = try await Fixture.adminCall(client, .post, "/api/admin/jobs/\(queuedA)/cancel")
            #expect(cancelled == .ok && cancelledJob["status"] as? String == "cancelled")

            // Retry: a failed job only; a new reservation; 402 when the team is short.
            let (notFailed, _) = try await Fixture.adminCall(client, .post, "/api/admin/jobs/\(queuedB)/retry")
            #expect(notFailed == .conflict)
            // 3 credits: queuedB holds 1 → 2 left; take them with two more submits.
            _ = try await Fixture.submit(client, team, content: "c")
            _ = try await Fixture.submit(client, team, content: "d")
            let (short, shortBody) = try await Fixture.adminCall(client, .post, "/api/admin/jobs/\(failing)/retry")
            #expect(short.code == 402)
            #expect(shortBody["detail"] as? String == "Insufficient credits: 0 remaining, 1 needed")
            let (cancelledB, _) = try await Fixture.adminCall(client, .post, "/api/admin/jobs/\(queuedB)/cancel")
            #expect(cancelledB == .ok)
            let (retried, retriedJob) = try await Fixture.adminCall(client, .post, "/api/admin/jobs/\(failing)/retry")
            #expect(retried == .ok)
            #expect(retriedJob["status"] as? String == "queued")
            let reservations = try await count(
                postgres,
                "SELECT count(*) AS n FROM credit_ledger WHERE job_id = $1::uuid AND transaction_type = 'reservation'",
                [.text(failing)]
            )
            #expect(reservations == 2)
            // It runs again, now against a healthy upstream.
            try await mock.behave(#"{"mode":"ok"}"#)
            let again = try await ManagedProcess.worker("worker-admin-jobs-2")
            defer { Task { await again.stop() } }
            let done = try await Fixture.waitForTerminal(client, team, failing)
            #expect(done["status"] as? String == "completed")
            let ids = try await postgres.query(
                "SELECT job_id::text AS id FROM jobs WHERE team_id IN ($1, $2)",
                [.text(team.teamID), .text(other.teamID)]
            )
            .map { try $0.decode("id", as: String.self) }
            try await Fixture.waitForJobs(postgres, ids)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("usage: organization and team sums after real completed jobs")
    func usageAfterJobs() async throws {
        let mock = try await MockUpstream(name: "mock-usage")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 100)
            let worker = try await ManagedProcess.worker("worker-usage")
            defer { Task { await worker.stop() } }
            let ids = try await submitMany(client, team, 3)
            try await Fixture.waitForJobs(postgres, ids)
            let totals = try #require(
                try await postgres.query(
                    """
                    SELECT count(*) AS n, sum(credits_charged) AS credits, sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion
                    FROM jobs WHERE team_id = $1 AND status = 'completed'
                    """,
                    [.text(team.teamID)]
                ).first
            )
            let completed: Int = try totals.decode("n")
            let credits: Int = try totals.decode("credits")
            let prompt: Int = try totals.decode("prompt")
            let completion: Int = try totals.decode("completion")
            #expect(completed == 3 && credits == 3 && prompt > 0 && completion > 0)
            let period = String(ISO8601DateFormatter().string(from: Date()).prefix(7))
            let (teamStatus, teamUsage) = try await Fixture.get(client, team, "/api/teams/\(team.teamID)/usage?period=\(period)")
            #expect(teamStatus == .ok)
            #expect((teamUsage["jobs"] as? [String: Any])?["completed"] as? Int == 3)
            #expect(teamUsage["credits_used"] as? Int == credits)
            #expect((teamUsage["tokens"] as? [String: Any])?["prompt"] as? Int == prompt)
            #expect((teamUsage["tokens"] as? [String: Any])?["completion"] as? Int == completion)
            let org = try #require(try await postgres.query("SELECT organization_id FROM teams WHERE team_id = $1", [.text(team.teamID)]).first)
                .decode("organization_id", as: String.self)
            let (orgStatus, orgUsage) = try await Fixture.adminCall(client, .get, "/api/organizations/\(org)/usage?period=\(period)")
            #expect(orgStatus == .ok)
            #expect((orgUsage["jobs"] as? [String: Any])?["total"] as? Int == 3)
            #expect(orgUsage["credits_used"] as? Int == credits)
            let perTeam = try #require(orgUsage["teams"] as? [[String: Any]])
            #expect(perTeam.first { $0["team_id"] as? String == team.teamID }?["credits_used"] as? Int == credits)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("priority orders a team's jobs: one worker at concurrency 1 runs the higher priority first")
    func priorityOrder() async throws {
        let mock = try await MockUpstream(name: "mock-priority")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 100)
            var byPriority: [Int: String] = [:]
            for priority in [0, 5, 9, 2, 7] {
                byPriority[priority] = try #require(
                    try await Fixture.submit(client, team, content: "p\(priority)", extra: #","priority":\#(priority)"#).1["job_id"] as? String
                )
            }
            let worker = try await ManagedProcess.worker("worker-priority", concurrency: 1)
            defer { Task { await worker.stop() } }
            try await Fixture.waitForJobs(postgres, Array(byPriority.values))
            let order = try await postgres.query(
                "SELECT job_id::text AS id FROM jobs WHERE team_id = $1 ORDER BY started_at",
                [.text(team.teamID)]
            ).map { try $0.decode("id", as: String.self) }
            #expect(order == [9, 7, 5, 2, 0].map { byPriority[$0]! })
        }
        try await Fixture.checkLedger(postgres)
    }
}
