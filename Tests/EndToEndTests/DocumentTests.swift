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
    /// About `kilobytes` of prose in paragraphs.
    static func document(kilobytes: Int) -> String {
        let sentences = [
            "Revenue grew by twelve percent in the third quarter, driven by strong demand in Europe.",
            "Operating costs fell as the new logistics centre came online ahead of schedule.",
            "The board approved a dividend and a share buyback programme for the coming year.",
            "Risks include currency movements and the renegotiation of two supplier contracts.",
        ]
        var text = ""
        var paragraph = 0
        while text.utf8.count < kilobytes * 1024 {
            paragraph += 1
            text += "Section \(paragraph). " + sentences.shuffled().joined(separator: " ") + " " + sentences.joined(separator: " ") + "\n\n"
        }
        return text
    }

    func submitDocument(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ document: String,
        extra: String = ""
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        let body: [String: Any] = [
            "team_id": team.teamID, "job_type": "document_analysis", "model": team.group, "document": document,
            "instructions": "List the key figures and risks.", "max_tokens": 300,
        ]
        var json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        if !extra.isEmpty {
            json.removeLast()
            json += extra + "}"
        }
        return try await client.execute(
            uri: "/api/jobs/create",
            method: .post,
            headers: [.authorization: "Bearer \(team.key)"],
            body: ByteBuffer(string: json)
        ) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    @Test(
        "a 600 KB document: chunk calls plus a reduce, usage their sum, one credit (job_based) or the summed tokens",
        arguments: ["job_based", "consumption_tokens"]
    )
    func longDocument(mode: String) async throws {
        let mock = try await MockUpstream(name: "mock-doc-\(mode)")
        let worker = try await ManagedProcess.worker("worker-doc-\(mode)", environment: ["DOCUMENT_CONCURRENCY": "16"])
        defer {
            Task {
                await worker.stop()
                await mock.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let extra = mode == "consumption_tokens" ? #","tokens_per_credit":1000"# : ""
            let team = try await Fixture.team(client, mock: mock, credits: 100_000, budgetMode: mode, extraTeamFields: extra, contextTokens: 8000)
            let (status, created) = try await submitDocument(client, team, Self.document(kilobytes: 600))
            #expect(status == .accepted)
            let jobID = try #require(created["job_id"] as? String)
            let reserved = try #require(created["credits_reserved"] as? Int)
            let (_, queued) = try await Fixture.get(client, team, "/api/jobs/\(jobID)")
            let planned = try #require((queued["progress"] as? [String: Any])?["calls_planned"] as? Int)
            #expect(planned > 20, "a 600 KB document in 8,000-token contexts needs many calls")

            let job = try await Fixture.waitForTerminal(client, team, jobID, timeout: .seconds(60))
            #expect(job["status"] as? String == "completed")
            let (_, calls) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/calls")
            let list = try #require(calls["calls"] as? [[String: Any]])
            let chunkCalls = list.filter { $0["step"] as? String == "chunk" }
            let reduceCalls = list.filter { $0["step"] as? String == "reduce" }
            #expect(chunkCalls.count > 10)
            #expect(reduceCalls.count >= 1)
            #expect(list.count <= planned, "more calls than planned (the reservation must cover them all)")
            #expect(list.allSatisfy { $0["billed"] as? Bool == true })
            let progress = try #require(job["progress"] as? [String: Any])
            #expect(progress["calls_done"] as? Int == list.count)
            let usage = try #require(job["usage"] as? [String: Any])
            let total = list.reduce(0) { $0 + ($1["total_tokens"] as? Int ?? 0) }
            #expect(usage["total_tokens"] as? Int == total)
            let expected = mode == "job_based" ? 1 : max(1, total / 1000)
            #expect(job["credits_charged"] as? Int == min(expected, reserved))
            #expect(reserved >= expected)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("a worker killed mid-document: the next delivery resumes from the finished chunks")
    func documentResumes() async throws {
        let mock = try await MockUpstream(name: "mock-doc-resume")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"latency_ms":300}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 100, contextTokens: 4000)
            let doomed = try await ManagedProcess.worker("worker-doc-doomed", environment: ["DOCUMENT_CONCURRENCY": "4"])
            let jobID = try #require(try await submitDocument(client, team, Self.document(kilobytes: 200)).1["job_id"] as? String)
            // Let some chunks finish, then kill the worker mid-way.
            let deadline = ContinuousClock.now + .seconds(20)
            while try await count(postgres, "SELECT count(*) AS n FROM job_steps WHERE job_id = $1::uuid", [.text(jobID)]) < 8 {
                guard ContinuousClock.now < deadline else { throw HarnessError.timeout("no chunk finished") }
                try await Task.sleep(for: .milliseconds(50))
            }
            doomed.kill9()
            await doomed.waitForExit(timeout: .seconds(5))
            let keptBefore = try await count(postgres, "SELECT count(*) AS n FROM job_steps WHERE job_id = $1::uuid", [.text(jobID)])
            try await mock.behave(#"{"latency_ms":0}"#)
            let survivor = try await ManagedProcess.worker("worker-doc-survivor", environment: ["DOCUMENT_CONCURRENCY": "4"])
            defer { Task { await survivor.stop() } }
            let job = try await Fixture.waitForTerminal(client, team, jobID, timeout: .seconds(40))
            #expect(job["status"] as? String == "completed")
            // No finished chunk was called again: one successful chunk call per chunk index.
            let repeated = try await count(
                postgres,
                "SELECT count(*) AS n FROM (SELECT step_index FROM job_calls WHERE job_id = $1::uuid AND step = 'chunk' AND error IS NULL GROUP BY step_index HAVING count(*) > 1) r",
                [.text(jobID)]
            )
            let inFlightAtKill = 4
            #expect(repeated <= inFlightAtKill, "finished chunks were analysed again")
            #expect(keptBefore >= 8)
            #expect(job["credits_charged"] as? Int == 1)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("cancelling mid-document stops the remaining calls")
    func cancelMidDocument() async throws {
        let mock = try await MockUpstream(name: "mock-doc-cancel")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"latency_ms":500}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 100, contextTokens: 4000)
            let worker = try await ManagedProcess.worker("worker-doc-cancel", environment: ["DOCUMENT_CONCURRENCY": "2"])
            defer { Task { await worker.stop() } }
            let jobID = try #require(try await submitDocument(client, team, Self.document(kilobytes: 200)).1["job_id"] as? String)
            try await waitForStatus(client, team, jobID, "in_progress")
            try await Task.sleep(for: .milliseconds(800))
            _ = try await client.execute(uri: "/api/jobs/\(jobID)/cancel", method: .post, headers: [.authorization: "Bearer \(team.key)"]) { _ in }
            let job = try await Fixture.waitForTerminal(client, team, jobID)
            #expect(job["status"] as? String == "cancelled")
            #expect(job["credits_charged"] as? Int == 0)
            let callsAtEnd = try await count(postgres, "SELECT count(*) AS n FROM job_calls WHERE job_id = $1::uuid", [.text(jobID)])
            try await Task.sleep(for: .seconds(1))
            let stats = try await mock.stats()
            #expect(stats["in_flight"] as? Int == 0, "calls still running after the cancel")
            #expect(try await count(postgres, "SELECT count(*) AS n FROM job_calls WHERE job_id = $1::uuid", [.text(jobID)]) == callsAtEnd)
            let planned = try #require((job["progress"] as? [String: Any])?["calls_planned"] as? Int)
            #expect(callsAtEnd < planned / 2, "the remaining chunks were called anyway")
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("a chunk that fails for good fails the job, unless allow_partial: then the reduce notes the gap")
    func partialDocument() async throws {
        let mock = try await MockUpstream(name: "mock-doc-partial")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 100, contextTokens: 4000)
            let worker = try await ManagedProcess.worker("worker-doc-partial", environment: ["DOCUMENT_CONCURRENCY": "1"])
            defer { Task { await worker.stop() } }
            // The first call of each job gets a 400 (a request error: not retried).
            try await mock.behave(#"{"mode":"context","fail_first_n":1}"#)
            let strict = try #require(try await submitDocument(client, team, Self.document(kilobytes: 40)).1["job_id"] as? String)
            let failed = try await Fixture.waitForTerminal(client, team, strict)
            #expect(failed["status"] as? String == "failed")
            #expect(failed["credits_charged"] as? Int == 0)

            try await mock.behave(#"{"mode":"context","fail_first_n":1}"#)
            let lenient = try #require(
                try await submitDocument(client, team, Self.document(kilobytes: 40), extra: #","allow_partial":true"#).1["job_id"] as? String
            )
            let partial = try await Fixture.waitForTerminal(client, team, lenient)
            #expect(partial["status"] as? String == "completed")
            let result = try #require(partial["result"] as? [String: Any])
            #expect(result["partial"] as? Bool == true)
            #expect(partial["credits_charged"] as? Int == 1)
        }
        try await Fixture.checkLedger(postgres)
    }
}
