import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Postgres
import Shared
import Testing

/// Regression tests for issue 8's worker-side items, against the real stores, API and workers.
extension EndToEnd {
    /// A team on one model group whose models are given as (mock, context tokens), in priority order.
    private func contextTeam(_ client: any TestClientProtocol, models: [(MockUpstream, Int)], credits: Int = 1000) async throws -> TestTeam {
        let org = Fixture.unique("org")
        let group = Fixture.unique("grp")
        let teamID = Fixture.unique("team")
        _ = try await Fixture.adminCall(client, .post, "/api/organizations/create", #"{"organization_id":"\#(org)","name":"E2E"}"#)
        var entries: [String] = []
        for (index, (mock, context)) in models.enumerated() {
            let provider = Fixture.unique("prov")
            let (status, _) = try await Fixture.adminCall(
                client,
                .post,
                "/api/providers/create",
                #"{"name":"\#(provider)","kind":"openai","base_url":"\#(mock.baseURL)","api_key":"sk-mock-key","timeout_seconds":5}"#
            )
            #expect(status == .ok)
            entries.append(#"{"model_name":"model-\#(index)","provider":"\#(provider)","priority":\#(index),"context_tokens":\#(context)}"#)
        }
        let (created, _) = try await Fixture.adminCall(
            client,
            .post,
            "/api/model-groups/create",
            #"{"group_name":"\#(group)","models":[\#(entries.joined(separator: ","))]}"#
        )
        #expect(created == .ok)
        let (_, body) = try await Fixture.adminCall(
            client,
            .post,
            "/api/teams/create",
            #"{"organization_id":"\#(org)","team_id":"\#(teamID)","model_groups":["\#(group)"],"credits_allocated":\#(credits)}"#
        )
        return TestTeam(teamID: teamID, key: body["virtual_key"] as? String ?? "", group: group)
    }

    /// Submits a `document_analysis` job for `document` (JSON-safe text) with `extra` fields.
    private func postDocument(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ document: String,
        extra: String = ""
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        let body = #"{"team_id":"\#(team.teamID)","job_type":"document_analysis","model":"\#(team.group)","document":"\#(document)"\#(extra)}"#
        return try await client.execute(
            uri: "/api/jobs/create",
            method: .post,
            headers: [.authorization: "Bearer \(team.key)"],
            body: ByteBuffer(string: body)
        ) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    /// A document of `paragraphs` paragraphs of about 400 bytes each.
    private func document(paragraphs: Int) -> String {
        (0..<paragraphs).map { "Paragraph \($0): " + String(repeating: "lorem ipsum dolor sit amet ", count: 15) }.joined(separator: #"\n\n"#)
    }

    @Test("one submit or settlement PostgreSQL refuses fails alone; its neighbours go through (item 7)")
    func batchIsolation() async throws {
        let mock = try await MockUpstream(name: "mock-isolation")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        let jobs = PostgresJobStore(postgres: postgres)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 100)
            func submission(_ metadata: JSONObject) -> JobSubmission {
                JobSubmission(
                    teamID: team.teamID,
                    jobType: "isolation",
                    userID: nil,
                    metadata: metadata,
                    modelGroup: team.group,
                    work: JobWork(messages: [.object(["role": .string("user"), "content": .string("hi")])]),
                    priority: 0,
                    expiresAt: Date().addingTimeInterval(3600),
                    estimate: Billing.Estimate(totalTokens: 10, maxCostUSD: 0),
                    callsPlanned: 1,
                    idempotencyKey: nil,
                    requestHash: nil
                )
            }
            // Submit: U+0000 in one job's metadata (the API refuses it at the door; the store must
            // not let it fail the batch it rides in either).
            let batch = [submission(["n": .integer(1)]), submission(["bad": .string("a\u{0}b")]), submission(["n": .integer(3)])]
            let submitted = try await jobs.submit(batch)
            #expect(submitted.count == 3)
            guard case .success(.created) = submitted[0], case .failure = submitted[1], case .success(.created) = submitted[2] else {
                Issue.record("expected created, failed, created: \(submitted)")
                return
            }

            // No worker runs here: the submitted jobs are cancelled so that no later test meets them.
            for item in [batch[0], batch[2]] { _ = try await jobs.cancel(item.jobID) }

            // Settle: three deliveries in one batch, the middle one's answer unstorable.
            let clean = [submission(["n": .integer(4)]), submission(["n": .integer(5)]), submission(["n": .integer(6)])]
            _ = try await jobs.submit(clean)
            let claims = clean.map { Claim(jobID: $0.jobID, token: UUID()) }
            let (marked, _) = try await jobs.markInProgress(claims, workerID: "test-worker", lease: .seconds(60))
            #expect(marked.count == 3)
            func completed(_ claim: Claim, _ content: String) -> Settlement {
                Settlement(
                    claim: claim,
                    outcome: .completed(
                        result: .object(["content": .string(content)]),
                        usage: TokenUsage(promptTokens: 1, completionTokens: 1),
                        costUSD: 0,
                        charge: 1
                    ),
                    calls: [],
                    reachedUpstream: true
                )
            }
            let results = try await jobs.settle([
                completed(claims[0], "fine"), completed(claims[1], "bad\u{0}answer"), completed(claims[2], "fine too"),
            ])
            #expect(results == [.settled(.completed), .settled(.failed), .settled(.completed)])
            let failed = try #require(try await jobs.get(claims[1].jobID))
            #expect(failed.status == .failed && failed.errorMessage == "The upstream's answer could not be stored" && failed.creditsCharged == 0)
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("a document plan past the limits is refused at submit with a 422 naming the reason (item 11)")
    func documentLimits() async throws {
        let mock = try await MockUpstream(name: "mock-doc-limits")
        defer { Task { await mock.stop() } }
        try await E2E.withAPI { client in
            let team = try await contextTeam(client, models: [(mock, 8192)])
            let big = String(repeating: "word ", count: 400_000)  // 2 MB
            // A huge max_tokens leaves a few tokens per chunk: ~hundreds of thousands of calls before.
            var (status, body) = try await postDocument(client, team, big, extra: #","max_tokens":7900"#)
            #expect(status == .unprocessableContent, "\(body)")
            #expect((body["detail"] as? String)?.contains("Field 'max_tokens'") == true, "\(body)")
            // Enough room per chunk (1,000 tokens), but more calls than a job may plan: ~590
            // chunks, and as many reduce calls again since only two partials fit one.
            let small = try await contextTeam(client, models: [(mock, 1700)])
            (status, body) = try await postDocument(client, small, big, extra: #","max_tokens":500"#)
            #expect(status == .unprocessableContent)
            #expect((body["detail"] as? String)?.contains("Field 'document' needs") == true, "\(body)")
            // The same document on a model with room is accepted.
            let roomy = try await contextTeam(client, models: [(mock, 200_000)])
            (status, body) = try await postDocument(client, roomy, big, extra: #","max_tokens":1000"#)
            #expect(status == .accepted, "\(body)")
        }
    }

    @Test("a fallback model with another context does not reuse the first model's chunk analyses (item 10)")
    func stepsKeyedByPlan() async throws {
        let first = try await MockUpstream(name: "mock-plan-a")
        let second = try await MockUpstream(name: "mock-plan-b")
        defer {
            Task {
                await first.stop()
                await second.stop()
            }
        }
        // The first model answers every other call with a bad key: some chunks finish, then the
        // job moves to the second model, whose chunks are twice as large.
        try await first.behave(#"{"mode":"bad_key","failure_rate":0.5}"#)
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await contextTeam(client, models: [(first, 2000), (second, 4000)])
            let worker = try await ManagedProcess.worker("worker-plan", environment: ["DOCUMENT_CONCURRENCY": "2"])
            defer { Task { await worker.stop() } }
            let (status, body) = try await postDocument(client, team, document(paragraphs: 60), extra: #","max_tokens":200"#)
            #expect(status == .accepted, "\(body)")
            let jobID = try #require(body["job_id"] as? String)
            let job = try await Fixture.waitForTerminal(client, team, jobID, timeout: .seconds(60))
            #expect(job["status"] as? String == "completed", "\(job)")
            let rows = try await postgres.query(
                "SELECT model, step, step_index, billed, error IS NULL AS ok FROM job_calls WHERE job_id = $1 ORDER BY created_at",
                [.text(jobID)]
            )
            let firstChunksDone = try rows.filter {
                try $0.decode("model", as: String.self) == "model-0" && $0.decode("ok", as: Bool.self)
                    && $0.decode("step", as: String.self) == "chunk"
            }
            #expect(!firstChunksDone.isEmpty, "the first model finished some chunks before it was abandoned")
            let secondChunks = try Set(
                rows.filter { try $0.decode("model", as: String.self) == "model-1" && $0.decode("step", as: String.self) == "chunk" }
                    .map { try $0.decode("step_index", as: Int.self) }
            )
            #expect(secondChunks.count >= 2)
            #expect(secondChunks == Set(0..<secondChunks.count), "the second model analysed every one of its chunks: \(secondChunks.sorted())")
            // The result's usage is the second model's steps alone.
            let usage = try #require(job["usage"] as? [String: Any])
            let secondTokens = try await postgres.query(
                "SELECT sum(prompt_tokens + completion_tokens)::bigint AS n FROM job_calls WHERE job_id = $1 AND model = 'model-1'",
                [.text(jobID)]
            ).first!.decode("n", as: Int.self)
            #expect(usage["total_tokens"] as? Int == secondTokens)
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("a provider key with a line break is refused; upstream error text never reaches the tenant (items 4, 6)")
    func keysAndErrorText() async throws {
        let mock = try await MockUpstream(name: "mock-keys")
        defer { Task { await mock.stop() } }
        try await mock.behave(#"{"mode":"bad_key"}"#)
        try await E2E.withAPI { client in
            for key in [#"sk-abc\n"#, #"sk-abc\r\nX-Injected: 1"#, "sk abc", #"sk-\u00e9"#] {
                let (status, body) = try await Fixture.adminCall(
                    client,
                    .post,
                    "/api/providers/create",
                    #"{"name":"\#(Fixture.unique("prov"))","kind":"openai","base_url":"\#(mock.baseURL)","api_key":"\#(key)"}"#
                )
                #expect(status == .unprocessableContent, "\(key)")
                #expect((body["detail"] as? String)?.contains("api_key") == true)
            }
            let team = try await Fixture.team(client, mock: mock)
            let worker = try await ManagedProcess.worker("worker-keys")
            defer { Task { await worker.stop() } }
            let jobID = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let job = try await Fixture.waitForTerminal(client, team, jobID)
            #expect(job["status"] as? String == "failed")
            let message = (job["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.hasPrefix("The upstream provider refused the credentials (bad_credentials, HTTP 401"), "\(message)")
            #expect(!message.contains("Incorrect API key"))
            let calls = try await Fixture.get(client, team, "/api/jobs/\(jobID)/calls").1["calls"] as? [[String: Any]] ?? []
            #expect(!calls.isEmpty)
            for call in calls {
                #expect((call["error"] as? String)?.hasPrefix("The upstream provider refused the credentials") == true, "\(call)")
            }
            let (_, admin) = try await Fixture.adminCall(client, .get, "/api/admin/jobs/\(jobID)")
            let adminCalls = admin["calls"] as? [[String: Any]] ?? []
            #expect(
                adminCalls.contains { ($0["error"] as? String)?.contains("Incorrect API key provided") == true },
                "admins read the upstream's words"
            )
        }
    }
}
