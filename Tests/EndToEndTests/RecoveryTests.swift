import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import Redis
import Shared
import Testing

extension EndToEnd {
    /// Submits `count` jobs for `team`; returns their ids.
    func submitMany(_ client: any TestClientProtocol, _ team: TestTeam, _ count: Int) async throws -> [String] {
        try await withThrowingTaskGroup(of: String?.self) { group in
            for i in 0..<count { group.addTask { try await Fixture.submit(client, team, content: "job \(i)").1["job_id"] as? String } }
            return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
        }
    }

    func count(_ postgres: PostgresClient, _ sql: String, _ binds: [PostgresBind]) async throws -> Int {
        try await postgres.query(sql, binds).first!.decode("n", as: Int.self)
    }

    @Test("kill -9 of a worker holding jobs: they complete on another worker, charged once")
    func workerKilled() async throws {
        let mock = try await MockUpstream(name: "mock-kill")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"latency_ms":2000}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 100)
            let doomed = try await ManagedProcess.worker("worker-doomed", concurrency: 8)
            let ids = try await submitMany(client, team, 6)
            // Wait until the doomed worker holds them, then kill it mid-call.
            let deadline = ContinuousClock.now + .seconds(15)
            while try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND status = 'in_progress'", [.text(team.teamID)]) < 6
            {
                guard ContinuousClock.now < deadline else { throw HarnessError.timeout("jobs never started") }
                try await Task.sleep(for: .milliseconds(50))
            }
            doomed.kill9()
            await doomed.waitForExit(timeout: .seconds(5))
            try await mock.behave(#"{"latency_ms":0}"#)
            let survivor = try await ManagedProcess.worker("worker-survivor", concurrency: 8)
            defer { Task { await survivor.stop() } }
            // Lease (3 s) plus a sweep (1 s) later, they run again and complete.
            try await Fixture.waitForJobs(postgres, ids, timeout: .seconds(30))
            #expect(
                try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND status = 'completed'", [.text(team.teamID)]) == 6
            )
            #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND lease_expiries = 1", [.text(team.teamID)]) == 6)
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_used"] as? Int == 6)
            #expect(balance["credits_reserved"] as? Int == 0)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("Redis loses everything with jobs queued, in flight and waiting for a retry: all complete, each charged once")
    func redisLosesEverything() async throws {
        let mock = try await MockUpstream(name: "mock-flush")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        let redis = try E2E.redis()
        defer { redis.shutdown() }
        // Every other call is a 503 (a retry scheduled in Redis); calls take 1 s.
        try await mock.behave(#"{"latency_ms":1000,"mode":"server_error","failure_rate":0.5}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 100)
            let worker = try await ManagedProcess.worker(
                "worker-flush",
                concurrency: 4,
                environment: ["RETRY_BASE_SECONDS": "2", "RETRY_CAP_SECONDS": "3"]
            )
            defer { Task { await worker.stop() } }
            let ids = try await submitMany(client, team, 12)
            // Some are in flight, some queued, some scheduled for a retry: now Redis forgets it all.
            try await Task.sleep(for: .milliseconds(1500))
            try await redis.send("FLUSHDB")
            try await mock.behave(#"{"latency_ms":100,"mode":"ok"}"#)
            try await Fixture.waitForJobs(postgres, ids, timeout: .seconds(40))
            #expect(
                try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND status = 'completed'", [.text(team.teamID)]) == 12
            )
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_used"] as? Int == 12)
            #expect(balance["credits_reserved"] as? Int == 0)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("crash between commit and enqueue: the sweeper enqueues the job and it completes")
    func crashBetweenCommitAndEnqueue() async throws {
        let mock = try await MockUpstream(name: "mock-commit")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            // What the API does up to its commit — then "dies" before enqueueing.
            let store = PostgresJobStore(postgres: postgres)
            let submission = JobSubmission(
                teamID: team.teamID,
                jobType: "chat",
                userID: nil,
                metadata: [:],
                modelGroup: team.group,
                work: JobWork(messages: [.object(["role": .string("user"), "content": .string("hello")])]),
                priority: 0,
                expiresAt: Date().addingTimeInterval(3600),
                estimate: Billing.Estimate(totalTokens: 100, maxCostUSD: 0.01),
                callsPlanned: 1,
                idempotencyKey: nil,
                requestHash: nil
            )
            guard case .success(.created(let jobID, .queued, _, _)) = try await store.submit([submission])[0] else {
                Issue.record("the job was not created")
                return
            }
            let worker = try await ManagedProcess.worker("worker-commit")
            defer { Task { await worker.stop() } }
            let job = try await Fixture.waitForTerminal(client, team, jobID.lowercasedString, timeout: .seconds(20))
            #expect(job["status"] as? String == "completed")
            #expect(job["credits_charged"] as? Int == 1)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("duplicate delivery: one charge, one result; the losing delivery's calls are recorded, not billed")
    func duplicateDelivery() async throws {
        let mock = try await MockUpstream(name: "mock-dup")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        let redis = try E2E.redis()
        defer { redis.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let jobID = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let id = try #require(UUID(uuidString: jobID))
            // Delivery A: claimed and marked by a "worker" that then stalls.
            let queue = RedisJobQueue(redis: redis)
            let store = PostgresJobStore(postgres: postgres)
            let claimA = try #require(try await queue.claim(max: 1, lease: .seconds(60)).claims.first)
            #expect(claimA.jobID == id)
            let (marked, _) = try await store.markInProgress([claimA], workerID: "stalled", lease: .seconds(60))
            #expect(marked.count == 1)
            // The job is delivered again (as after Redis lost its lease) and a real worker runs it.
            try await queue.reset([QueuedJob(jobID: id, teamID: team.teamID, priority: 0)])
            let worker = try await ManagedProcess.worker("worker-dup")
            defer { Task { await worker.stop() } }
            let job = try await Fixture.waitForTerminal(client, team, jobID)
            #expect(job["status"] as? String == "completed")
            // Delivery A comes back with its own result: it cannot settle.
            let lateCall = JobCall(
                jobID: id,
                model: "mock-model",
                provider: "late",
                attempt: 1,
                statusCode: 200,
                errorClass: nil,
                error: nil,
                upstreamRequestID: "late",
                usage: TokenUsage(promptTokens: 10, completionTokens: 10),
                costUSD: 0.01,
                latencyMS: 5
            )
            let results = try await store.settle([
                Settlement(
                    claim: claimA,
                    outcome: .completed(
                        result: .object(["content": .string("late")]),
                        usage: TokenUsage(promptTokens: 10, completionTokens: 10),
                        costUSD: 0.01,
                        charge: 1
                    ),
                    calls: [lateCall],
                    reachedUpstream: true
                )
            ])
            #expect(results == [.lost])
            let (_, after) = try await Fixture.get(client, team, "/api/jobs/\(jobID)")
            #expect((after["result"] as? [String: Any])?["content"] as? String != "late")
            let (_, calls) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/calls")
            let list = try #require(calls["calls"] as? [[String: Any]])
            #expect(list.count == 2)
            #expect(list.filter { $0["billed"] as? Bool == true }.count == 1)
            #expect(list.first { $0["provider"] as? String == "late" }?["billed"] as? Bool == false)
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_used"] as? Int == 1)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("overspend: 500 concurrent submits against a balance of 100 → exactly 100 accepted")
    func overspend() async throws {
        let mock = try await MockUpstream(name: "mock-overspend")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 100)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<500 { group.addTask { try await Fixture.submit(client, team, content: "n\(i)").0.code } }
                return try await group.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(statuses[202] == 100)
            #expect(statuses[402] == 400)
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_remaining"] as? Int == 0)
            #expect(balance["credits_reserved"] as? Int == 100)
            #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.teamID)]) == 100)
            let worker = try await ManagedProcess.worker("worker-overspend", concurrency: 50)
            defer { Task { await worker.stop() } }
            let ids = try await postgres.query("SELECT job_id::text AS id FROM jobs WHERE team_id = $1", [.text(team.teamID)]).map {
                try $0.decode("id", as: String.self)
            }
            try await Fixture.waitForJobs(postgres, ids)
            let (_, settled) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(settled["credits_used"] as? Int == 100 && settled["credits_remaining"] as? Int == 0)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("fairness: 2,000 jobs of team A queued first, then one of team B; B finishes among the first few")
    func fairness() async throws {
        let mock = try await MockUpstream(name: "mock-fair")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        let redis = try E2E.redis()
        defer { redis.shutdown() }
        try await mock.behave(#"{"latency_ms":20}"#)
        try await E2E.withAPI { client in
            let teamA = try await Fixture.team(client, mock: mock, credits: 5000)
            let teamB = try await Fixture.team(client, mock: mock, credits: 10)
            // 2,000 of A, straight through the store and queue (faster than 2,000 HTTP calls).
            let store = PostgresJobStore(postgres: postgres)
            let queue = RedisJobQueue(redis: redis)
            for _ in 0..<4 {
                let batch = (0..<500).map { i in
                    JobSubmission(
                        teamID: teamA.teamID,
                        jobType: "chat",
                        userID: nil,
                        metadata: [:],
                        modelGroup: teamA.group,
                        work: JobWork(messages: [.object(["role": .string("user"), "content": .string("a\(i)")])]),
                        priority: 0,
                        expiresAt: Date().addingTimeInterval(3600),
                        estimate: Billing.Estimate(totalTokens: 10, maxCostUSD: 0),
                        callsPlanned: 1,
                        idempotencyKey: nil,
                        requestHash: nil
                    )
                }
                _ = try await store.submit(batch)
                try await queue.enqueue(batch.map { QueuedJob(jobID: $0.jobID, teamID: $0.teamID, priority: 0) })
            }
            let bJob = try #require(try await Fixture.submit(client, teamB).1["job_id"] as? String)
            let worker = try await ManagedProcess.worker("worker-fair", concurrency: 4)
            defer { Task { await worker.stop() } }
            let job = try await Fixture.waitForTerminal(client, teamB, bJob)
            #expect(job["status"] as? String == "completed")
            let before = try await count(
                postgres,
                "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND completed_at < (SELECT completed_at FROM jobs WHERE job_id = $2::uuid)",
                [.text(teamA.teamID), .text(bJob)]
            )
            #expect(before <= 8, "team B waited behind \(before) of team A's jobs")
            // Let the rest finish quickly, so nothing is left for the next test.
            try await mock.behave(#"{"latency_ms":0}"#)
            let helper = try await ManagedProcess.worker("worker-fair-2", concurrency: 200)
            defer { Task { await helper.stop() } }
            let ids = try await postgres.query("SELECT job_id::text AS id FROM jobs WHERE team_id = $1", [.text(teamA.teamID)])
                .map { try $0.decode("id", as: String.self) }
            try await Fixture.waitForJobs(postgres, ids, timeout: .seconds(90))
        }
        try await Fixture.checkLedger(postgres)
    }
}
