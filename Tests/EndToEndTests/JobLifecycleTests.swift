import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Postgres
import Shared
import Testing

extension EndToEnd {
    @Test("submit → completed, charged by each budget mode", arguments: ["job_based", "consumption_tokens", "consumption_usd"])
    func completesWithTheRightCharge(mode: String) async throws {
        let mock = try await MockUpstream(name: "mock-charge-\(mode)")
        let worker = try await ManagedProcess.worker("worker-charge-\(mode)")
        defer {
            Task {
                await worker.stop()
                await mock.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let extra = mode == "consumption_tokens" ? #","tokens_per_credit":10"# : mode == "consumption_usd" ? #","credits_per_dollar":1000"# : ""
            let team = try await Fixture.team(client, mock: mock, credits: 1000, budgetMode: mode, extraTeamFields: extra, prices: (1000, 2000))
            let content = String(repeating: "The quarterly numbers look fine. ", count: 20)
            let (status, created) = try await Fixture.submit(client, team, content: content, extra: #","max_tokens":200"#)
            #expect(status == .accepted)
            #expect(created["status"] as? String == "queued")
            let reserved = try #require(created["credits_reserved"] as? Int)
            let jobID = try #require(created["job_id"] as? String)

            let job = try await Fixture.waitForTerminal(client, team, jobID)
            #expect(job["status"] as? String == "completed")
            let result = try #require(job["result"] as? [String: Any])
            #expect((result["content"] as? String)?.isEmpty == false)
            let usage = try #require(job["usage"] as? [String: Any])
            let prompt = try #require(usage["prompt_tokens"] as? Int)
            let completion = try #require(usage["completion_tokens"] as? Int)
            #expect(usage["total_tokens"] as? Int == prompt + completion)
            let cost = Decimal(prompt * 1000 + completion * 2000) / 1_000_000
            let expected: Int
            switch mode {
            case "consumption_tokens": expected = max(1, (prompt + completion) / 10)
            case "consumption_usd": expected = max(1, NSDecimalNumber(decimal: cost * 1000).intValue)
            default: expected = 1
            }
            #expect(job["credits_charged"] as? Int == min(expected, reserved))
            #expect(reserved >= expected, "the reservation must cover the charge")

            let (_, calls) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/calls")
            let list = try #require(calls["calls"] as? [[String: Any]])
            #expect(list.count == 1)
            #expect(list.first?["billed"] as? Bool == true)
            #expect(list.first?["status_code"] as? Int == 200)

            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_used"] as? Int == min(expected, reserved))
            #expect(balance["credits_reserved"] as? Int == 0)
            #expect(balance["credits_remaining"] as? Int == 1000 - min(expected, reserved))
            let (_, ledger) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/transactions")
            let types = (ledger["transactions"] as? [[String: Any]] ?? []).compactMap { $0["transaction_type"] as? String }
            #expect(types == ["charge", "release", "reservation", "allocation"])
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("402 when credits are short, and nothing is queued")
    func insufficientCredits() async throws {
        let mock = try await MockUpstream(name: "mock-402")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 0)
            let (status, body) = try await Fixture.submit(client, team)
            #expect(status.code == 402)
            #expect(body["detail"] as? String == "Insufficient credits: 0 remaining, 1 needed")
            let rows = try await postgres.query("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.teamID)])
            #expect(try rows.first!.decode("n", as: Int.self) == 0)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("an Idempotency-Key replays the first answer; another body with it is 409")
    func idempotentSubmit() async throws {
        let mock = try await MockUpstream(name: "mock-idem")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let (first, a) = try await Fixture.submit(client, team, idempotencyKey: "order-42")
            let (second, b) = try await Fixture.submit(client, team, idempotencyKey: "order-42")
            #expect(first == .accepted && second == .accepted)
            #expect(a["job_id"] as? String == b["job_id"] as? String)
            let (conflict, c) = try await Fixture.submit(client, team, content: "something else", idempotencyKey: "order-42")
            #expect(conflict == .conflict)
            #expect(c["detail"] as? String == "Idempotency-Key reused with a different request")
            // Concurrent twins: one job.
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<10 { group.addTask { try await Fixture.submit(client, team, idempotencyKey: "twins").1["job_id"] as? String } }
                return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_reserved"] as? Int == 2)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("cancel a pending, a queued and an in-flight job; a terminal one is 409")
    func cancel() async throws {
        let mock = try await MockUpstream(name: "mock-cancel")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let auth: HTTPFields = [.authorization: "Bearer \(team.key)"]
            func cancel(_ id: String) async throws -> (HTTPResponse.Status, [String: Any]) {
                try await client.execute(uri: "/api/jobs/\(id)/cancel", method: .post, headers: auth) { response in
                    (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
                }
            }
            // Pending: a job without work.
            let pending = try await client.execute(
                uri: "/api/jobs/create",
                method: .post,
                headers: auth,
                body: ByteBuffer(string: #"{"team_id":"\#(team.teamID)","job_type":"steps"}"#)
            ) { response in
                #expect(response.status == .ok)
                return (try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])?["job_id"] as? String
            }
            let (pendingStatus, pendingJob) = try await cancel(try #require(pending))
            #expect(pendingStatus == .ok && pendingJob["status"] as? String == "cancelled")

            // Queued: no worker runs yet.
            let queued = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let (_, queuedJob) = try await cancel(queued)
            #expect(queuedJob["status"] as? String == "cancelled")
            #expect((queuedJob["error"] as? [String: Any])?["code"] as? String == "cancelled")
            let (again, againBody) = try await cancel(queued)
            #expect(again == .conflict)
            #expect(againBody["detail"] as? String == "Job is already cancelled")

            // In flight: the upstream takes 5 s; the cancel aborts it.
            try await mock.behave(#"{"latency_ms":5000}"#)
            let worker = try await ManagedProcess.worker("worker-cancel")
            defer { Task { await worker.stop() } }
            let running = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            try await waitForStatus(client, team, running, "in_progress")
            let started = ContinuousClock.now
            let (_, cancelling) = try await cancel(running)
            #expect(["cancelling", "cancelled"].contains(cancelling["status"] as? String ?? ""))
            let final = try await Fixture.waitForTerminal(client, team, running)
            #expect(final["status"] as? String == "cancelled")
            #expect(final["credits_charged"] as? Int == 0)
            #expect(ContinuousClock.now - started < .seconds(4), "the in-flight call was not aborted")
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_remaining"] as? Int == 10)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("a job past its expiry ends as expired and releases its reservation")
    func expiry() async throws {
        let mock = try await MockUpstream(name: "mock-expiry")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 5)
            let jobID = try #require(try await Fixture.submit(client, team, extra: #","expires_in_seconds":60"#).1["job_id"] as? String)
            // Nobody runs it; move its deadline into the past instead of waiting a minute.
            try await postgres.query("UPDATE jobs SET expires_at = now() - interval '1 second' WHERE job_id = $1::uuid", [.text(jobID)])
            let job = try await Fixture.waitForTerminal(client, team, jobID, timeout: .seconds(15))
            #expect(job["status"] as? String == "expired")
            #expect((job["error"] as? [String: Any])?["code"] as? String == "expired")
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_reserved"] as? Int == 0 && balance["credits_remaining"] as? Int == 5)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("a team polling another team's job gets 403")
    func foreignJob() async throws {
        let mock = try await MockUpstream(name: "mock-foreign")
        defer { Task { await mock.stop() } }
        try await E2E.withAPI { client in
            let owner = try await Fixture.team(client, mock: mock)
            let other = try await Fixture.team(client, mock: mock)
            let jobID = try #require(try await Fixture.submit(client, owner).1["job_id"] as? String)
            for path in ["/api/jobs/\(jobID)", "/api/jobs/\(jobID)/calls"] {
                let (status, body) = try await Fixture.get(client, other, path)
                #expect(status == .forbidden)
                #expect(body["detail"] as? String == "Cannot access jobs for a different team")
            }
            let (status, _) = try await Fixture.get(client, other, "/api/jobs/\(UUID().uuidString.lowercased())")
            #expect(status == .notFound)
        }
    }

    func waitForStatus(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ jobID: String,
        _ status: String,
        timeout: Duration = .seconds(20)
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await Fixture.get(client, team, "/api/jobs/\(jobID)").1["status"] as? String == status { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.timeout("job \(jobID) never reached \(status)")
    }
}
