import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Postgres
import Shared
import Testing

/// The original system's flows run on the workers (issue 10, API.md "Step-by-step jobs and single
/// calls"): a job created without work, its `llm-call`s, `complete` settling once; and
/// `create-and-call`. Real API, worker and mock processes.
extension EndToEnd {
    /// A team route with the team's key; the status and the JSON body.
    func teamCall(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ method: HTTPRequest.Method,
        _ uri: String,
        _ json: String? = nil
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(
            uri: uri,
            method: method,
            headers: [.authorization: "Bearer \(team.key)"],
            body: json.map { ByteBuffer(string: $0) }
        ) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    /// The security guide's example job: `team_id`, `job_type` and `user_id` only → 200 `pending`.
    func createContainer(_ client: any TestClientProtocol, _ team: TestTeam, metadata: String = "") async throws -> String {
        let (status, body) = try await teamCall(
            client,
            team,
            .post,
            "/api/jobs/create",
            #"{"team_id":"\#(team.teamID)","job_type":"chat_session","user_id":"user-7"\#(metadata)}"#
        )
        #expect(status == .ok)
        #expect(body["status"] as? String == "pending")
        #expect(body["credits_reserved"] == nil)
        return try #require(body["job_id"] as? String)
    }

    /// `POST /api/jobs/{id}/llm-call?wait=` with one user message and `extra` fields.
    func llmCall(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ jobID: String,
        content: String = "Hello there",
        extra: String = "",
        wait: String = "15"
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await teamCall(
            client,
            team,
            .post,
            "/api/jobs/\(jobID)/llm-call?wait=\(wait)",
            #"{"model":"\#(team.group)","messages":[{"role":"user","content":"\#(content)"}]\#(extra)}"#
        )
    }

    func balance(_ client: any TestClientProtocol, _ team: TestTeam) async throws -> [String: Any] {
        try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance").1
    }

    func ledgerTypes(_ client: any TestClientProtocol, _ team: TestTeam) async throws -> [String] {
        let (_, ledger) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/transactions")
        return (ledger["transactions"] as? [[String: Any]] ?? []).compactMap { $0["transaction_type"] as? String }
    }

    /// Polls a call (`GET …/calls/{id}?wait=`) until it is no longer queued or running.
    func waitForCall(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ jobID: String,
        _ callID: String,
        timeout: Duration = .seconds(40)
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let answer = try await teamCall(client, team, .get, "/api/jobs/\(jobID)/calls/\(callID)?wait=10")
            if answer.0 != .accepted { return answer }
        }
        throw HarnessError.timeout("call \(callID) did not finish")
    }

    /// Waits until a job's row (a call is a job) has `status` in PostgreSQL.
    func waitForRow(_ postgres: PostgresClient, _ jobID: String, _ status: String, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE job_id = $1::uuid AND status = $2", [.text(jobID), .text(status)]) == 0
        {
            guard ContinuousClock.now < deadline else { throw HarnessError.timeout("\(jobID) never reached \(status)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static let weatherTool =
        #","tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"tool_choice":"auto""#

    @Test("the guide's example job → three llm-calls (one with tools) → complete: 1 credit once; more completes answer the same")
    func stepByStepJobBased() async throws {
        let mock = try await MockUpstream(name: "mock-steps")
        let worker = try await ManagedProcess.worker("worker-steps")
        defer {
            Task {
                await worker.stop()
                await mock.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let jobID = try await createContainer(client, team, metadata: #","metadata":{"origin":"guide"}"#)
            #expect(try await balance(client, team)["credits_reserved"] as? Int == 0, "a pending job holds nothing")

            // First call: plain text, with call_metadata; the job is in progress and holds 1 credit.
            let (s1, first) = try await llmCall(client, team, jobID, extra: #","purpose":"greet","call_metadata":{"step":"one"}"#)
            #expect(s1 == .ok)
            #expect(first["status"] as? String == "completed")
            #expect(first["job_id"] as? String == jobID)
            let callIDs = [first["call_id"] as? String]
            let response = try #require(first["response"] as? [String: Any])
            #expect((response["content"] as? String)?.contains("Hello there") == true)
            #expect(response["finish_reason"] as? String == "stop")
            let metadata = try #require(first["metadata"] as? [String: Any])
            let prompt = try #require(metadata["prompt_tokens"] as? Int)
            let completion = try #require(metadata["completion_tokens"] as? Int)
            #expect(metadata["tokens_used"] as? Int == prompt + completion)
            #expect(metadata["model"] as? String == team.group)
            #expect(metadata["model_used"] as? String == "mock-model")
            #expect((metadata["latency_ms"] as? Int).map { $0 >= 0 } == true)
            #expect(first["cost_usd"] != nil)
            #expect(try await Fixture.get(client, team, "/api/jobs/\(jobID)").1["status"] as? String == "in_progress")
            #expect(try await balance(client, team)["credits_reserved"] as? Int == 1)

            // Second call: tools; the mock calls the tool.
            let (s2, second) = try await llmCall(client, team, jobID, content: "Weather in Paris?", extra: Self.weatherTool)
            #expect(s2 == .ok)
            let toolAnswer = try #require(second["response"] as? [String: Any])
            #expect(toolAnswer["finish_reason"] as? String == "tool_calls")
            let toolCalls = try #require(toolAnswer["tool_calls"] as? [[String: Any]])
            #expect((toolCalls.first?["function"] as? [String: Any])?["name"] as? String == "get_weather")

            // Third call, with more call_metadata; the job still holds 1 credit (job_based).
            let (s3, third) = try await llmCall(client, team, jobID, content: "Thanks", extra: #","call_metadata":{"turns":3}"#)
            #expect(s3 == .ok)
            let ids = callIDs + [second["call_id"] as? String, third["call_id"] as? String]
            #expect(Set(ids.compactMap { $0 }).count == 3)
            #expect(try await balance(client, team)["credits_reserved"] as? Int == 1)

            // call_metadata merged into the job's metadata; PATCH merges shallowly.
            let (_, job) = try await Fixture.get(client, team, "/api/jobs/\(jobID)")
            let merged = try #require(job["metadata"] as? [String: Any])
            #expect(merged["origin"] as? String == "guide")
            #expect(merged["step"] as? String == "one")
            #expect(merged["turns"] as? Int == 3)
            let (patched, patch) = try await teamCall(
                client,
                team,
                .patch,
                "/api/jobs/\(jobID)/metadata",
                #"{"metadata":{"reviewer":"ann","step":"two"}}"#
            )
            #expect(patched == .ok)
            #expect(patch["job_id"] as? String == jobID)
            #expect(patch["updated_at"] is String)
            let after = try #require(patch["metadata"] as? [String: Any])
            #expect(after["reviewer"] as? String == "ann" && after["step"] as? String == "two" && after["origin"] as? String == "guide")

            // Costs before complete: three successful calls, nothing charged yet.
            let (costsStatus, costsBody) = try await teamCall(client, team, .get, "/api/jobs/\(jobID)/costs")
            #expect(costsStatus == .ok)
            let costs = try #require(costsBody["costs"] as? [String: Any])
            #expect(costs["total_calls"] as? Int == 3)
            #expect(costs["successful_calls"] as? Int == 3)
            #expect(costs["failed_calls"] as? Int == 0)
            #expect(costs["credits_charged"] as? Int == 0)
            let breakdown = try #require(costs["breakdown"] as? [[String: Any]])
            #expect(breakdown.compactMap { $0["call_id"] as? String } == ids.compactMap { $0 })
            #expect(costs["total_tokens"] as? Int == breakdown.reduce(0) { $0 + ($1["total_tokens"] as? Int ?? 0) })

            // complete: 1 credit, once.
            let (done, completed) = try await teamCall(
                client,
                team,
                .post,
                "/api/jobs/\(jobID)/complete",
                #"{"status":"completed","metadata":{"outcome":"ok"}}"#
            )
            #expect(done == .ok)
            #expect(completed["job_id"] as? String == jobID)
            #expect(completed["status"] as? String == "completed")
            #expect(completed["completed_at"] is String)
            #expect((completed["metadata"] as? [String: Any])?["outcome"] as? String == "ok")
            let settled = try #require(completed["costs"] as? [String: Any])
            #expect(settled["total_calls"] as? Int == 3)
            #expect(settled["successful_calls"] as? Int == 3)
            #expect(settled["credits_charged"] as? Int == 1)
            #expect(settled["credits_remaining"] as? Int == 9)
            #expect((completed["calls"] as? [[String: Any]])?.count == 3)
            let balanceAfter = try await balance(client, team)
            #expect(balanceAfter["credits_used"] as? Int == 1)
            #expect(balanceAfter["credits_reserved"] as? Int == 0)
            #expect(balanceAfter["credits_remaining"] as? Int == 9)
            #expect(try await ledgerTypes(client, team).sorted() == ["allocation", "charge", "release", "reservation"])
            // Usage counts the calls' tokens once (the job's own row repeats their totals) and one job.
            let callTokens = try #require(completed["calls"] as? [[String: Any]]).compactMap {
                ($0["metadata"] as? [String: Any])?["tokens_used"] as? Int
            }
            let period = String(ISO8601DateFormatter().string(from: Date()).prefix(7))
            let (_, usage) = try await teamCall(client, team, .get, "/api/teams/\(team.teamID)/usage?period=\(period)")
            #expect((usage["tokens"] as? [String: Any])?["total"] as? Int == callTokens.reduce(0, +), "\(usage)")
            #expect((usage["jobs"] as? [String: Any])?["total"] as? Int == 1, "calls are not jobs in usage")

            // A second and a third complete: the same answer, nothing charged again.
            for round in 2...3 {
                let (again, body) = try await teamCall(client, team, .post, "/api/jobs/\(jobID)/complete", #"{"status":"completed"}"#)
                #expect(again == .ok, "complete #\(round)")
                #expect(body["status"] as? String == "completed")
                #expect(body["completed_at"] as? String == completed["completed_at"] as? String)
                #expect(NSDictionary(dictionary: body["costs"] as? [String: Any] ?? [:]).isEqual(to: settled), "complete #\(round)")
            }
            let balanceLater = try await balance(client, team)
            #expect(balanceLater["credits_used"] as? Int == 1 && balanceLater["credits_reserved"] as? Int == 0)
            #expect(try await ledgerTypes(client, team).count == 4)
            let (_, final) = try await Fixture.get(client, team, "/api/jobs/\(jobID)")
            #expect(final["status"] as? String == "completed")
            #expect(final["credits_charged"] as? Int == 1)

            // A completed job takes no more calls.
            let (late, lateBody) = try await llmCall(client, team, jobID)
            #expect(late == .conflict)
            #expect(lateBody["detail"] as? String == "Job is already completed")
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("consumption_tokens: each call reserves its most; complete charges the calls' tokens together, once, and releases the rest")
    func stepByStepConsumption() async throws {
        let mock = try await MockUpstream(name: "mock-steps-tokens")
        let worker = try await ManagedProcess.worker("worker-steps-tokens")
        defer {
            Task {
                await worker.stop()
                await mock.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(
                client,
                mock: mock,
                credits: 1000,
                budgetMode: "consumption_tokens",
                extraTeamFields: #","tokens_per_credit":10"#
            )
            let jobID = try await createContainer(client, team)
            var dues: [Int] = []
            var reservations: [Int] = []
            var totalTokens = 0
            var reservedSoFar = 0
            for (i, extra) in [#","max_tokens":200"#, Self.weatherTool + #","max_tokens":200"#, #","max_tokens":300"#].enumerated() {
                let (status, call) = try await llmCall(
                    client,
                    team,
                    jobID,
                    content: "Step \(i): " + String(repeating: "words ", count: 30),
                    extra: extra
                )
                #expect(status == .ok)
                let reserved = try #require(call["credits_reserved"] as? Int)
                let tokens = try #require((call["metadata"] as? [String: Any])?["tokens_used"] as? Int)
                #expect(reserved >= max(1, tokens / 10), "the reservation covers the call")
                dues.append(min(max(1, tokens / 10), reserved))
                reservations.append(reserved)
                totalTokens += tokens
                reservedSoFar += reserved
                // A completed call keeps its reservation until the job ends.
                #expect(try await balance(client, team)["credits_reserved"] as? Int == reservedSoFar)
            }
            let (_, costsBody) = try await teamCall(client, team, .get, "/api/jobs/\(jobID)/costs")
            let breakdown = try #require((costsBody["costs"] as? [String: Any])?["breakdown"] as? [[String: Any]])
            #expect(breakdown.compactMap { $0["credits"] as? Int } == dues, "each line shows the call's due")

            let (done, completed) = try await teamCall(client, team, .post, "/api/jobs/\(jobID)/complete", #"{"status":"completed"}"#)
            #expect(done == .ok)
            // One rounding for the whole job (as the original, and as a submitted job): the calls'
            // tokens together, capped by what they reserved — not a minimum credit per call.
            let charged = min(max(1, totalTokens / 10), reservedSoFar)
            #expect((completed["costs"] as? [String: Any])?["credits_charged"] as? Int == charged)
            #expect((completed["costs"] as? [String: Any])?["credits_remaining"] as? Int == 1000 - charged)
            let after = try await balance(client, team)
            #expect(after["credits_used"] as? Int == charged)
            #expect(after["credits_reserved"] as? Int == 0)
            #expect(after["credits_remaining"] as? Int == 1000 - charged)
            let types = try await ledgerTypes(client, team)
            #expect(types.filter { $0 == "reservation" }.count == 3)
            // The charge is spread over the calls' rows in order, each within its reservation.
            var left = charged
            let chargeRows = reservations.map { reserved in
                let charge = min(reserved, left)
                left -= charge
                return charge
            }.filter { $0 > 0 }.count
            #expect(types.filter { $0 == "charge" }.count == chargeRows)
            #expect(types.filter { $0 == "release" }.count == 3)

            let (_, settledCosts) = try await teamCall(client, team, .get, "/api/jobs/\(jobID)/costs")
            #expect((settledCosts["costs"] as? [String: Any])?["credits_charged"] as? Int == charged)
            #expect(try await Fixture.get(client, team, "/api/jobs/\(jobID)").1["credits_charged"] as? Int == charged)

            let (again, second) = try await teamCall(client, team, .post, "/api/jobs/\(jobID)/complete", #"{"status":"completed"}"#)
            #expect(again == .ok && (second["costs"] as? [String: Any])?["credits_charged"] as? Int == charged)
            #expect(try await balance(client, team)["credits_used"] as? Int == charged)
            #expect(try await ledgerTypes(client, team).count == types.count)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("complete with a call in flight is 409; once the call is done it settles; a short wait is a 202 and the call is polled")
    func callsInFlightAndShortWaits() async throws {
        let mock = try await MockUpstream(name: "mock-inflight")
        let worker = try await ManagedProcess.worker("worker-inflight")
        defer {
            Task {
                await worker.stop()
                await mock.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"latency_ms":2500}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let jobID = try await createContainer(client, team)

            // wait=0: the call is queued and the answer is immediate.
            let (queued, call) = try await llmCall(client, team, jobID, wait: "0")
            #expect(queued == .accepted)
            let callID = try #require(call["call_id"] as? String)
            #expect(["queued", "in_progress"].contains(call["status"] as? String ?? ""))
            #expect(call["response"] == nil)
            try await waitForRow(postgres, callID, "in_progress")

            let (busy, busyBody) = try await teamCall(client, team, .post, "/api/jobs/\(jobID)/complete", #"{"status":"completed"}"#)
            #expect(busy == .conflict)
            #expect(busyBody["detail"] as? String == "Job has calls in flight")
            #expect(try await balance(client, team)["credits_used"] as? Int == 0)

            // GET without wait answers the state now; with wait, the call once done.
            let (now, nowBody) = try await teamCall(client, team, .get, "/api/jobs/\(jobID)/calls/\(callID)")
            #expect(now == .accepted && nowBody["status"] as? String == "in_progress")
            let (polled, result) = try await teamCall(client, team, .get, "/api/jobs/\(jobID)/calls/\(callID)?wait=15")
            #expect(polled == .ok)
            #expect(result["call_id"] as? String == callID && result["status"] as? String == "completed")
            #expect(((result["response"] as? [String: Any])?["content"] as? String)?.isEmpty == false)

            // A wait that runs out (0.5 s against 2.5 s): 202 with the call id; polling gets it.
            let (short, shortBody) = try await llmCall(client, team, jobID, wait: "0.5")
            #expect(short == .accepted)
            let secondID = try #require(shortBody["call_id"] as? String)
            let (later, laterBody) = try await waitForCall(client, team, jobID, secondID)
            #expect(later == .ok && laterBody["status"] as? String == "completed")

            let (unknown, unknownBody) = try await teamCall(client, team, .get, "/api/jobs/\(jobID)/calls/\(UUID().uuidString.lowercased())")
            #expect(unknown == .notFound && unknownBody["detail"] as? String == "Call not found")
            let (badWait, _) = try await teamCall(client, team, .get, "/api/jobs/\(jobID)/calls/\(callID)?wait=soon")
            #expect(badWait.code == 422)

            let (done, completed) = try await teamCall(client, team, .post, "/api/jobs/\(jobID)/complete", #"{"status":"completed"}"#)
            #expect(done == .ok)
            #expect((completed["costs"] as? [String: Any])?["credits_charged"] as? Int == 1)
            #expect(try await balance(client, team)["credits_used"] as? Int == 1)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("402 when a call's reservation does not fit, and nothing is queued")
    func callReservationDoesNotFit() async throws {
        let mock = try await MockUpstream(name: "mock-steps-402")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let tokens = try await Fixture.team(
                client,
                mock: mock,
                credits: 5,
                budgetMode: "consumption_tokens",
                extraTeamFields: #","tokens_per_credit":10"#
            )
            let jobID = try await createContainer(client, tokens)
            // The mock counts every request it serves (its health checks too): compare, not zero.
            let callsBefore = try await mock.stats()["total"] as? Int ?? 0
            let (status, body) = try await llmCall(client, tokens, jobID, extra: #","max_tokens":100000"#, wait: "0")
            #expect(status.code == 402)
            #expect((body["detail"] as? String)?.hasPrefix("Insufficient credits: 5 remaining, ") == true, "\(body)")
            let empty = try await Fixture.team(client, mock: mock, credits: 0)
            let emptyJob = try await createContainer(client, empty)
            let (none, noneBody) = try await llmCall(client, empty, emptyJob, wait: "0")
            #expect(none.code == 402)
            #expect(noneBody["detail"] as? String == "Insufficient credits: 0 remaining, 1 needed")

            for (team, job) in [(tokens, jobID), (empty, emptyJob)] {
                #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE parent_job_id = $1::uuid", [.text(job)]) == 0)
                #expect(try await Fixture.get(client, team, "/api/jobs/\(job)").1["status"] as? String == "pending")
                let after = try await balance(client, team)
                #expect(after["credits_reserved"] as? Int == 0 && after["credits_used"] as? Int == 0)
            }
            #expect(try await mock.stats()["total"] as? Int ?? 0 == callsBefore)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("a worker killed mid-call: the call completes once on another worker, billed once")
    func stepCallSurvivesWorkerKill() async throws {
        let mock = try await MockUpstream(name: "mock-steps-kill")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"latency_ms":3000}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(
                client,
                mock: mock,
                credits: 1000,
                budgetMode: "consumption_tokens",
                extraTeamFields: #","tokens_per_credit":10"#
            )
            let jobID = try await createContainer(client, team)
            let doomed = try await ManagedProcess.worker("worker-steps-doomed", concurrency: 2)
            let (queued, call) = try await llmCall(client, team, jobID, extra: #","max_tokens":200"#, wait: "0")
            #expect(queued == .accepted)
            let callID = try #require(call["call_id"] as? String)
            try await waitForRow(postgres, callID, "in_progress")
            doomed.kill9()
            await doomed.waitForExit(timeout: .seconds(5))
            try await mock.behave(#"{"latency_ms":0}"#)
            let survivor = try await ManagedProcess.worker("worker-steps-survivor", concurrency: 2)
            defer { Task { await survivor.stop() } }

            // Lease (3 s) plus a sweep later, the call runs again and completes.
            let (status, result) = try await waitForCall(client, team, jobID, callID)
            #expect(status == .ok && result["status"] as? String == "completed")
            let tokens = try #require((result["metadata"] as? [String: Any])?["tokens_used"] as? Int)
            #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE job_id = $1::uuid AND lease_expiries = 1", [.text(callID)]) == 1)
            #expect(try await count(postgres, "SELECT count(*) AS n FROM job_calls WHERE job_id = $1::uuid AND billed", [.text(callID)]) == 1)
            #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE parent_job_id = $1::uuid", [.text(jobID)]) == 1)

            let (done, completed) = try await teamCall(client, team, .post, "/api/jobs/\(jobID)/complete", #"{"status":"completed"}"#)
            #expect(done == .ok)
            let costs = try #require(completed["costs"] as? [String: Any])
            #expect(costs["total_calls"] as? Int == 1 && costs["successful_calls"] as? Int == 1)
            let due = max(1, tokens / 10)
            #expect(costs["credits_charged"] as? Int == due)
            let after = try await balance(client, team)
            #expect(after["credits_used"] as? Int == due && after["credits_reserved"] as? Int == 0)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test(
        "create-and-call answers in the original's shape and charges by each budget mode",
        arguments: ["job_based", "consumption_tokens", "consumption_usd"]
    )
    func createAndCall(mode: String) async throws {
        let mock = try await MockUpstream(name: "mock-cac-\(mode)")
        let worker = try await ManagedProcess.worker("worker-cac-\(mode)")
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
            let (status, body) = try await teamCall(
                client,
                team,
                .post,
                "/api/jobs/create-and-call?wait=15",
                #"{"team_id":"\#(team.teamID)","job_type":"single","model":"\#(team.group)","max_tokens":200,"messages":[{"role":"user","content":"\#(content)"}]}"#
            )
            #expect(status == .ok)
            #expect(body["status"] as? String == "completed")
            #expect(body["completed_at"] is String)
            let jobID = try #require(body["job_id"] as? String)
            let response = try #require(body["response"] as? [String: Any])
            #expect((response["content"] as? String)?.isEmpty == false)
            #expect(response["finish_reason"] as? String == "stop")
            let metadata = try #require(body["metadata"] as? [String: Any])
            let prompt = try #require(metadata["prompt_tokens"] as? Int)
            let completion = try #require(metadata["completion_tokens"] as? Int)
            #expect(metadata["tokens_used"] as? Int == prompt + completion)
            #expect(metadata["model"] as? String == team.group && metadata["model_used"] as? String == "mock-model")
            let cost = Decimal(prompt * 1000 + completion * 2000) / 1_000_000
            let expected: Int
            switch mode {
            case "consumption_tokens": expected = max(1, (prompt + completion) / 10)
            case "consumption_usd": expected = max(1, NSDecimalNumber(decimal: cost * 1000).intValue)
            default: expected = 1
            }
            let costs = try #require(body["costs"] as? [String: Any])
            #expect(costs["total_calls"] as? Int == 1 && costs["successful_calls"] as? Int == 1 && costs["failed_calls"] as? Int == 0)
            #expect(costs["total_tokens"] as? Int == prompt + completion)
            #expect(costs["credits_charged"] as? Int == expected)
            #expect(costs["credits_remaining"] as? Int == 1000 - expected)
            #expect(abs((costs["total_cost_usd"] as? Double ?? -1) - NSDecimalNumber(decimal: cost).doubleValue) < 1e-9)

            let (_, job) = try await Fixture.get(client, team, "/api/jobs/\(jobID)")
            #expect(job["status"] as? String == "completed" && job["credits_charged"] as? Int == expected)
            let after = try await balance(client, team)
            #expect(after["credits_used"] as? Int == expected && after["credits_reserved"] as? Int == 0)

            // No credits: 402, no job, no upstream call.
            let broke = try await Fixture.team(client, mock: mock, credits: 0, budgetMode: mode, extraTeamFields: extra)
            let callsBefore = try await mock.stats()["total"] as? Int ?? 0
            let (refused, refusal) = try await teamCall(
                client,
                broke,
                .post,
                "/api/jobs/create-and-call?wait=5",
                #"{"team_id":"\#(broke.teamID)","job_type":"single","model":"\#(broke.group)","messages":[{"role":"user","content":"hi"}]}"#
            )
            #expect(refused.code == 402)
            #expect((refusal["detail"] as? String)?.hasPrefix("Insufficient credits: 0 remaining, ") == true)
            #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(broke.teamID)]) == 0)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await mock.stats()["total"] as? Int ?? 0 == callsBefore)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("create-and-call: 202 with the job when wait runs out, 200 failed with error; a failed llm-call is a 502 and releases")
    func singleCallsWaitAndFailures() async throws {
        let mock = try await MockUpstream(name: "mock-cac-fail")
        let worker = try await ManagedProcess.worker("worker-cac-fail")
        defer {
            Task {
                await worker.stop()
                await mock.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(
                client,
                mock: mock,
                credits: 1000,
                budgetMode: "consumption_tokens",
                extraTeamFields: #","tokens_per_credit":10"#
            )
            let body = #"{"team_id":"\#(team.teamID)","job_type":"single","model":"\#(team.group)","messages":[{"role":"user","content":"hi"}]}"#

            // The wait runs out: 202 with the job; it completes later.
            try await mock.behave(#"{"latency_ms":2000}"#)
            let (accepted, pendingJob) = try await teamCall(client, team, .post, "/api/jobs/create-and-call?wait=0.3", body)
            #expect(accepted == .accepted)
            let slowID = try #require(pendingJob["job_id"] as? String)
            #expect(["queued", "in_progress"].contains(pendingJob["status"] as? String ?? ""))
            #expect(try await Fixture.waitForTerminal(client, team, slowID)["status"] as? String == "completed")

            // The upstream refuses the key: the job fails; 200 with status failed and error.
            try await mock.behave(#"{"latency_ms":0,"mode":"bad_key","failure_rate":1}"#)
            let (failedStatus, failed) = try await teamCall(client, team, .post, "/api/jobs/create-and-call?wait=15", body)
            #expect(failedStatus == .ok)
            #expect(failed["status"] as? String == "failed")
            #expect((failed["error"] as? [String: Any])?["code"] is String)
            #expect(failed["response"] == nil)

            // The same for a step-by-step call: 502 naming the category; its reservation released.
            let jobID = try await createContainer(client, team)
            let (bad, badBody) = try await llmCall(client, team, jobID)
            #expect(bad.code == 502)
            #expect((badBody["detail"] as? String)?.hasPrefix("LLM call failed: ") == true, "\(badBody)")
            #expect(try await balance(client, team)["credits_reserved"] as? Int == 0)
            let (_, costsBody) = try await teamCall(client, team, .get, "/api/jobs/\(jobID)/costs")
            let costs = try #require(costsBody["costs"] as? [String: Any])
            #expect(costs["total_calls"] as? Int == 1 && costs["failed_calls"] as? Int == 1 && costs["successful_calls"] as? Int == 0)
            // A failed call is not retried by an admin: its money belongs to the job's complete.
            let callID = try #require(costs["breakdown"] as? [[String: Any]]).first?["call_id"] as? String
            let (retry, retryBody) = try await Fixture.adminCall(client, .post, "/api/admin/jobs/\(try #require(callID))/retry")
            #expect(retry == .conflict)
            #expect(
                retryBody["detail"] as? String
                    == "A step-by-step job and its calls settle through complete and cannot be retried; make the call again with llm-call"
            )
            let (done, completed) = try await teamCall(
                client,
                team,
                .post,
                "/api/jobs/\(jobID)/complete",
                #"{"status":"failed","error_message":"the model refused"}"#
            )
            #expect(done == .ok && completed["status"] as? String == "failed")
            #expect((completed["error"] as? [String: Any])?["code"] as? String == "upstream_error", "a call failed")
            #expect((completed["error"] as? [String: Any])?["message"] as? String == "the model refused")
            #expect((completed["costs"] as? [String: Any])?["credits_charged"] as? Int == 0)
            let (_, job) = try await Fixture.get(client, team, "/api/jobs/\(jobID)")
            #expect(job["status"] as? String == "failed" && job["credits_charged"] as? Int == 0)
            #expect(try await balance(client, team)["credits_reserved"] as? Int == 0)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("cancel of an in-progress step-by-step job releases what it holds", arguments: ["job_based", "consumption_tokens"])
    func cancelStepByStepJob(mode: String) async throws {
        let mock = try await MockUpstream(name: "mock-steps-cancel-\(mode)")
        let worker = try await ManagedProcess.worker("worker-steps-cancel-\(mode)")
        defer {
            Task {
                await worker.stop()
                await mock.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let extra = mode == "consumption_tokens" ? #","tokens_per_credit":10"# : ""
            let team = try await Fixture.team(client, mock: mock, credits: 1000, budgetMode: mode, extraTeamFields: extra)
            let jobID = try await createContainer(client, team)
            let (s1, first) = try await llmCall(client, team, jobID, extra: #","max_tokens":200"#)
            #expect(s1 == .ok)
            let tokens = try #require((first["metadata"] as? [String: Any])?["tokens_used"] as? Int)
            // One call running against a slow upstream: cancel the job now.
            try await mock.behave(#"{"latency_ms":5000}"#)
            let (_, running) = try await llmCall(client, team, jobID, extra: #","max_tokens":200"#, wait: "0")
            let runningID = try #require(running["call_id"] as? String)
            try await waitForRow(postgres, runningID, "in_progress")
            let (cancelled, job) = try await teamCall(client, team, .post, "/api/jobs/\(jobID)/cancel")
            #expect(cancelled == .ok)
            #expect(job["status"] as? String == "cancelled")
            // The running call stops and settles as cancelled.
            let (callStatus, callBody) = try await waitForCall(client, team, jobID, runningID, timeout: .seconds(20))
            #expect(callStatus.code == 502, "\(callBody)")
            try await waitForRow(postgres, runningID, "cancelled")

            // consumption: the completed call's tokens were spent, so its due is charged; job_based: nothing.
            let charged = mode == "job_based" ? 0 : max(1, tokens / 10)
            let after = try await balance(client, team)
            #expect(after["credits_reserved"] as? Int == 0)
            #expect(after["credits_used"] as? Int == charged)
            #expect(after["credits_remaining"] as? Int == 1000 - charged)
            let (again, againBody) = try await teamCall(client, team, .post, "/api/jobs/\(jobID)/complete", #"{"status":"completed"}"#)
            #expect(again == .conflict && againBody["detail"] as? String == "Job is already cancelled")
            let (late, lateBody) = try await llmCall(client, team, jobID, wait: "0")
            #expect(late == .conflict && lateBody["detail"] as? String == "Job is already cancelled")
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("metadata near the 16 KiB bound never blocks a cancel or a complete; a merge past it is a 422 that changes nothing")
    func metadataAtTheBound() async throws {
        let mock = try await MockUpstream(name: "mock-steps-metadata")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            // 1,650 small keys: 15,391 bytes as compact JSON, 18,690 as PostgreSQL's jsonb text
            // (a space after every ':' and ','), which is how the bound was once measured.
            let keys = (0..<1_650).map { #""k\#($0)":1"# }.joined(separator: ",")
            #expect(keys.utf8.count + 2 < 16 * 1024)
            for ending in ["cancel", "complete"] {
                let jobID = try await createContainer(client, team, metadata: #","metadata":{\#(keys)}"#)
                let (tooMuch, tooMuchBody) = try await teamCall(
                    client,
                    team,
                    .patch,
                    "/api/jobs/\(jobID)/metadata",
                    #"{"metadata":{"extra":"\#(String(repeating: "x", count: 2_000))"}}"#
                )
                #expect(tooMuch == .unprocessableContent)
                #expect(tooMuchBody["detail"] as? String == "Field 'metadata' must be at most 16 KiB of JSON")
                let (status, body) =
                    ending == "cancel"
                    ? try await teamCall(client, team, .post, "/api/jobs/\(jobID)/cancel")
                    : try await teamCall(client, team, .post, "/api/jobs/\(jobID)/complete", #"{"status":"completed"}"#)
                #expect(status == .ok, "\(ending): \(body)")
                #expect((body["metadata"] as? [String: Any])?.count == 1_650, "\(ending)")
            }
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("a foreign team's job is 403 on every step-by-step route; unknown 404; a submitted job 409; a bad complete status 422")
    func stepByStepRefusals() async throws {
        let mock = try await MockUpstream(name: "mock-steps-refusals")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let owner = try await Fixture.team(client, mock: mock, credits: 10)
            let other = try await Fixture.team(client, mock: mock, credits: 10)
            let jobID = try await createContainer(client, owner)
            // No worker runs: the call stays queued.
            let (queued, call) = try await llmCall(client, owner, jobID, wait: "0")
            #expect(queued == .accepted)
            let callID = try #require(call["call_id"] as? String)

            let routes: [(HTTPRequest.Method, String, String?)] = [
                (.post, "llm-call?wait=0", #"{"model":"\#(other.group)","messages":[{"role":"user","content":"hi"}]}"#),
                (.get, "calls/\(callID)", nil),
                (.post, "complete", #"{"status":"completed"}"#),
                (.patch, "metadata", #"{"metadata":{"a":1}}"#),
                (.get, "costs", nil),
            ]
            for (method, path, body) in routes {
                let (status, answer) = try await teamCall(client, other, method, "/api/jobs/\(jobID)/\(path)", body)
                #expect(status == .forbidden, "\(path)")
                #expect(answer["detail"] as? String == "Job does not belong to your team", "\(path)")
                let unknown = UUID().uuidString.lowercased()
                let (missing, missingBody) = try await teamCall(client, other, method, "/api/jobs/\(unknown)/\(path)", body)
                #expect(missing == .notFound, "\(path)")
                #expect(missingBody["detail"] as? String == "Job not found", "\(path)")
            }
            #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE parent_job_id = $1::uuid", [.text(jobID)]) == 1)
            #expect(try await balance(client, other)["credits_reserved"] as? Int == 0)

            // A job submitted with its work takes no llm-call and no complete.
            let submitted = try #require(try await Fixture.submit(client, owner).1["job_id"] as? String)
            let (work, workBody) = try await llmCall(client, owner, submitted, wait: "0")
            #expect(work == .conflict)
            #expect(workBody["detail"] as? String == "Job was submitted with its work; llm-call and complete apply to jobs created without a model")
            let (workComplete, _) = try await teamCall(client, owner, .post, "/api/jobs/\(submitted)/complete", #"{"status":"completed"}"#)
            #expect(workComplete == .conflict)

            // complete's status is completed or failed.
            let (invalid, invalidBody) = try await teamCall(client, owner, .post, "/api/jobs/\(jobID)/complete", #"{"status":"done"}"#)
            #expect(invalid.code == 422)
            #expect(invalidBody["detail"] as? String == "Field 'status' must be one of completed, failed")

            // Clean up: nothing stays reserved.
            for id in [jobID, submitted] {
                let (status, _) = try await teamCall(client, owner, .post, "/api/jobs/\(id)/cancel")
                #expect(status == .ok)
            }
            #expect(try await balance(client, owner)["credits_reserved"] as? Int == 0)
            #expect(
                try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE job_id = $1::uuid AND status = 'cancelled'", [.text(callID)]) == 1
            )
        }
        try await Fixture.checkLedger(postgres)
    }
}
