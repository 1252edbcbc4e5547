import Configuration
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import Postgres
import Shared
import Testing

@testable import API

/// Streaming and job events (issue 10, API.md "Streaming and events") through real API, worker
/// and mock processes, read by a socket client that can leave in the middle of a stream
/// (``SSEConnection``): the deltas are the answer, a reconnect with `Last-Event-ID` gets exactly
/// the rest, a client that leaves stops nothing and the call is billed once.
extension EndToEnd {
    /// The prompt of the streaming tests: the mock's reply quotes its first 40 characters, so
    /// the answer has a dozen or so words — a delta each.
    static let streamPrompt = "Stream me a short answer about the quarterly figures, please."

    /// A create-and-call body for `team` with one user message.
    func singleCallBody(_ team: TestTeam, content: String = EndToEnd.streamPrompt) -> String {
        #"{"team_id":"\#(team.teamID)","job_type":"single","model":"\#(team.group)","max_tokens":200,"messages":[{"role":"user","content":"\#(content)"}]}"#
    }

    /// An SSE request with the team's key to the API under test.
    func openStream(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ method: String,
        _ path: String,
        body: String? = nil,
        lastEventID: String? = nil,
        idempotencyKey: String? = nil
    ) async throws -> SSEConnection {
        let port = try #require(client.port, "the API must be served over a socket (.live)")
        var headers = ["Authorization": "Bearer \(team.key)"]
        if let lastEventID { headers["Last-Event-ID"] = lastEventID }
        if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
        return try await SSEConnection.open(port: port, method: method, path: path, headers: headers, body: body)
    }

    /// Reads a call stream to its end: the deltas, then the final event (`done` or `error`),
    /// after which the stream must end.
    func readCallStream(_ stream: SSEConnection) async throws -> (deltas: [SSEEvent], final: SSEEvent?) {
        var deltas: [SSEEvent] = []
        while let event = try await stream.next() {
            if event.event == "done" || event.event == "error" {
                #expect(try await stream.next() == nil, "the stream goes on after its final event")
                return (deltas, event)
            }
            #expect(event.event == nil || event.event == "reset", "unexpected event \(event)")
            deltas.append(event)
        }
        return (deltas, nil)
    }

    /// The deltas' text, in order.
    func text(of deltas: [SSEEvent]) -> String {
        deltas.map { $0.json["delta"] as? String ?? "\u{FFFD}" }.joined()
    }

    func indexes(of deltas: [SSEEvent]) -> [Int] {
        deltas.map { $0.json["index"] as? Int ?? -1 }
    }

    /// Redis stream ids (`<ms>-<seq>`) in order.
    func streamIDOrder(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: "-").compactMap { Int($0) }
        let y = b.split(separator: "-").compactMap { Int($0) }
        return x.lexicographicallyPrecedes(y)
    }

    func chargeRows(_ postgres: PostgresClient, _ jobID: String) async throws -> Int {
        try await count(
            postgres,
            "SELECT count(*) AS n FROM credit_ledger WHERE job_id = $1::uuid AND transaction_type = 'charge'",
            [.text(jobID)]
        )
    }

    @Test("create-and-call-stream: the deltas are the answer — of the done event and of create-and-call — and it is charged once")
    func streamedSingleCall() async throws {
        let mock = try await MockUpstream(name: "mock-stream-single")
        let worker = try await ManagedProcess.worker("worker-stream-single")
        try await Self.stopping(worker, mock) {
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
                let stream = try await openStream(client, team, "POST", "/api/jobs/create-and-call-stream", body: singleCallBody(team))
                #expect(stream.status == 200)
                #expect(stream.headers["content-type"]?.hasPrefix("text/event-stream") == true)
                let jobID = try #require(stream.headers["x-job-id"])
                let (deltas, final) = try await readCallStream(stream)
                stream.close()
                let done = try #require(final)
                #expect(done.event == "done", "\(done)")
                #expect(deltas.count > 5, "the mock streams its reply word by word")
                #expect(indexes(of: deltas) == Array(0..<deltas.count))
                let ids = deltas.compactMap(\.id)
                #expect(ids.count == deltas.count)
                #expect(zip(ids, ids.dropFirst()).allSatisfy { streamIDOrder($0, $1) }, "entry ids increase")
                #expect(done.id == ids.last)

                let answer = done.json
                #expect(answer["job_id"] as? String == jobID)
                #expect(answer["status"] as? String == "completed")
                let content = try #require((answer["response"] as? [String: Any])?["content"] as? String)
                #expect(text(of: deltas) == content)
                #expect(content.contains("Stream me a short answer"))
                let metadata = try #require(answer["metadata"] as? [String: Any])
                let prompt = try #require(metadata["prompt_tokens"] as? Int)
                let completion = try #require(metadata["completion_tokens"] as? Int)
                #expect(metadata["tokens_used"] as? Int == prompt + completion)
                #expect(metadata["model_used"] as? String == "mock-model")
                let costs = try #require(answer["costs"] as? [String: Any])
                let charged = max(1, (prompt + completion) / 10)
                #expect(costs["total_tokens"] as? Int == prompt + completion)
                #expect(costs["credits_charged"] as? Int == charged)
                #expect(costs["total_calls"] as? Int == 1 && costs["successful_calls"] as? Int == 1)

                // The same messages without streaming: the same text (the mock answers per prompt).
                let (status, plain) = try await teamCall(client, team, .post, "/api/jobs/create-and-call?wait=15", singleCallBody(team))
                #expect(status == .ok)
                #expect((plain["response"] as? [String: Any])?["content"] as? String == content)
                let plainCharge = try #require((plain["costs"] as? [String: Any])?["credits_charged"] as? Int)

                // Each job charged once.
                #expect(try await chargeRows(postgres, jobID) == 1)
                let balance = try await balance(client, team)
                #expect(balance["credits_used"] as? Int == charged + plainCharge)
                #expect(balance["credits_reserved"] as? Int == 0)
                let (_, job) = try await Fixture.get(client, team, "/api/jobs/\(jobID)")
                #expect(job["credits_charged"] as? Int == charged)
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("a client leaving after 3 deltas resumes with Last-Event-ID: exactly the rest, then done; the final id gives only done")
    func streamResumes() async throws {
        let mock = try await MockUpstream(name: "mock-stream-resume")
        let worker = try await ManagedProcess.worker("worker-stream-resume")
        try await Self.stopping(worker, mock) {
            let postgres = E2E.postgres()
            defer { postgres.shutdown() }
            try await mock.behave(#"{"stream_delta_ms":100}"#)
            try await E2E.withAPI { client in
                let team = try await Fixture.team(client, mock: mock, credits: 100)
                let key = Fixture.unique("stream-key")
                let first = try await openStream(
                    client,
                    team,
                    "POST",
                    "/api/jobs/create-and-call-stream",
                    body: singleCallBody(team),
                    idempotencyKey: key
                )
                #expect(first.status == 200)
                let jobID = try #require(first.headers["x-job-id"])
                var head: [SSEEvent] = []
                while head.count < 3, let event = try await first.next() { head.append(event) }
                first.close()
                #expect(head.count == 3 && head.allSatisfy { $0.event == nil }, "\(head)")
                #expect(indexes(of: head) == [0, 1, 2])
                let third = try #require(head.last?.id)

                // GET …/stream after the third: the rest, then done.
                let resumed = try await openStream(client, team, "GET", "/api/jobs/\(jobID)/stream", lastEventID: third)
                #expect(resumed.status == 200)
                let (rest, final) = try await readCallStream(resumed)
                let done = try #require(final)
                #expect(done.event == "done", "\(done)")
                #expect(!rest.isEmpty)
                #expect(indexes(of: rest) == Array(3..<(3 + rest.count)), "no delta repeated, none missing")
                #expect(rest.allSatisfy { streamIDOrder(third, $0.id ?? "") })
                let content = try #require((done.json["response"] as? [String: Any])?["content"] as? String)
                #expect(text(of: head) + text(of: rest) == content)
                #expect(done.id == rest.last?.id)

                // After the final event's id: the final event only.
                let again = try await openStream(client, team, "GET", "/api/jobs/\(jobID)/stream", lastEventID: done.id)
                let (none, finalAgain) = try await readCallStream(again)
                #expect(none.isEmpty)
                #expect(finalAgain?.event == "done" && finalAgain?.id == done.id)
                #expect(finalAgain?.json["job_id"] as? String == jobID)

                // The same create-and-call-stream (same Idempotency-Key) with Last-Event-ID replays the
                // same job's stream after that event; no second job.
                let replay = try await openStream(
                    client,
                    team,
                    "POST",
                    "/api/jobs/create-and-call-stream",
                    body: singleCallBody(team),
                    lastEventID: head[1].id,
                    idempotencyKey: key
                )
                #expect(replay.status == 200)
                #expect(replay.headers["x-job-id"] == jobID)
                let (replayed, replayFinal) = try await readCallStream(replay)
                #expect(replayed.map(\.id) == ([head[2]] + rest).map(\.id))
                #expect(replayFinal?.event == "done")
                #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.teamID)]) == 1)

                // From the start (no Last-Event-ID on GET): every delta, then done.
                let whole = try await openStream(client, team, "GET", "/api/jobs/\(jobID)/stream")
                let (all, wholeFinal) = try await readCallStream(whole)
                #expect(text(of: all) == content && wholeFinal?.event == "done")
                #expect(try await chargeRows(postgres, jobID) == 1)
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("a worker killed mid-stream: the client reads a reset, then the redelivery's whole answer; billed once")
    func streamSurvivesWorkerDeath() async throws {
        let mock = try await MockUpstream(name: "mock-stream-worker-death")
        let doomed = try await ManagedProcess.worker("worker-stream-doomed")
        try await Self.stopping(doomed, mock) {
            let postgres = E2E.postgres()
            defer { postgres.shutdown() }
            try await mock.behave(#"{"stream_delta_ms":150}"#)
            try await E2E.withAPI { client in
                let team = try await Fixture.team(client, mock: mock, credits: 100)
                let stream = try await openStream(client, team, "POST", "/api/jobs/create-and-call-stream", body: singleCallBody(team))
                #expect(stream.status == 200)
                let jobID = try #require(stream.headers["x-job-id"])
                var head: [SSEEvent] = []
                while head.count < 3, let event = try await stream.next() { head.append(event) }
                #expect(indexes(of: head) == [0, 1, 2])
                doomed.kill9()
                await doomed.waitForExit(timeout: .seconds(5))
                let survivor = try await ManagedProcess.worker("worker-stream-survivor")
                let outcome: Result<(deltas: [SSEEvent], final: SSEEvent?), any Error>
                do { outcome = .success(try await readCallStream(stream)) } catch { outcome = .failure(error) }
                await survivor.stop()
                stream.close()
                let (rest, final) = try outcome.get()
                let done = try #require(final)
                #expect(done.event == "done", "\(done)")
                let content = try #require((done.json["response"] as? [String: Any])?["content"] as? String)
                // The text after the last reset is the answer; the reset restarts the numbering.
                let reset = try #require(rest.lastIndex { $0.event == "reset" }, "no reset after the redelivery: \(text(of: head + rest))")
                let after = Array(rest[(reset + 1)...])
                #expect(indexes(of: after) == Array(0..<after.count))
                #expect(text(of: after) == content)
                #expect(try await chargeRows(postgres, jobID) == 1)
                #expect(try await balance(client, team)["credits_used"] as? Int == 1)
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("a client that never comes back: the job completes and is billed once")
    func streamAbandoned() async throws {
        let mock = try await MockUpstream(name: "mock-stream-abandoned")
        let worker = try await ManagedProcess.worker("worker-stream-abandoned")
        try await Self.stopping(worker, mock) {
            let postgres = E2E.postgres()
            defer { postgres.shutdown() }
            try await mock.behave(#"{"stream_delta_ms":100}"#)
            try await E2E.withAPI { client in
                let team = try await Fixture.team(client, mock: mock, credits: 100)
                let stream = try await openStream(client, team, "POST", "/api/jobs/create-and-call-stream", body: singleCallBody(team))
                #expect(stream.status == 200)
                let jobID = try #require(stream.headers["x-job-id"])
                let first = try await stream.next()
                #expect(first?.json["index"] as? Int == 0)
                stream.close()

                let job = try await Fixture.waitForTerminal(client, team, jobID)
                #expect(job["status"] as? String == "completed")
                #expect(job["credits_charged"] as? Int == 1)
                #expect((job["result"] as? [String: Any])?["content"] as? String != nil)
                #expect(try await chargeRows(postgres, jobID) == 1)
                let balance = try await balance(client, team)
                #expect(balance["credits_used"] as? Int == 1 && balance["credits_reserved"] as? Int == 0)
                let (_, calls) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/calls")
                let list = try #require(calls["calls"] as? [[String: Any]])
                #expect(list.count == 1 && list.first?["billed"] as? Bool == true)
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("llm-call-stream on a step-by-step job: deltas and done with the call, resumed by POST with Last-Event-ID; complete charges once")
    func streamedStepCall() async throws {
        let mock = try await MockUpstream(name: "mock-stream-step")
        let worker = try await ManagedProcess.worker("worker-stream-step")
        try await Self.stopping(worker, mock) {
            let postgres = E2E.postgres()
            defer { postgres.shutdown() }
            try await mock.behave(#"{"stream_delta_ms":60}"#)
            try await E2E.withAPI { client in
                let team = try await Fixture.team(client, mock: mock, credits: 10)
                let jobID = try await createContainer(client, team)
                let body = #"{"model":"\#(team.group)","max_tokens":200,"messages":[{"role":"user","content":"\#(Self.streamPrompt)"}]}"#
                let first = try await openStream(client, team, "POST", "/api/jobs/\(jobID)/llm-call-stream", body: body)
                #expect(first.status == 200)
                #expect(first.headers["x-job-id"] == jobID)
                let callID = try #require(first.headers["x-call-id"])
                var head: [SSEEvent] = []
                while head.count < 2, let event = try await first.next() { head.append(event) }
                first.close()
                #expect(indexes(of: head) == [0, 1])

                // A reconnect by POST with Last-Event-ID resumes the same call; none is queued.
                let resumed = try await openStream(
                    client,
                    team,
                    "POST",
                    "/api/jobs/\(jobID)/llm-call-stream",
                    body: body,
                    lastEventID: head[1].id
                )
                #expect(resumed.status == 200)
                #expect(resumed.headers["x-call-id"] == callID)
                let (rest, final) = try await readCallStream(resumed)
                let done = try #require(final)
                #expect(done.event == "done", "\(done)")
                #expect(indexes(of: rest) == Array(2..<(2 + rest.count)))
                let call = done.json
                #expect(call["call_id"] as? String == callID)
                #expect(call["status"] as? String == "completed")
                let content = try #require((call["response"] as? [String: Any])?["content"] as? String)
                #expect(text(of: head) + text(of: rest) == content)
                let metadata = try #require(call["metadata"] as? [String: Any])
                #expect((metadata["tokens_used"] as? Int ?? 0) > 0)
                #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE parent_job_id = $1::uuid", [.text(jobID)]) == 1)

                // The call's own stream route, after the final id: the final event only.
                let again = try await openStream(client, team, "GET", "/api/jobs/\(jobID)/calls/\(callID)/stream", lastEventID: done.id)
                let (none, finalAgain) = try await readCallStream(again)
                #expect(none.isEmpty && finalAgain?.event == "done" && finalAgain?.id == done.id)

                // The same answer as a plain llm-call.
                let (plainStatus, plain) = try await llmCall(client, team, jobID, content: Self.streamPrompt, extra: #","max_tokens":200"#)
                #expect(plainStatus == .ok)
                #expect((plain["response"] as? [String: Any])?["content"] as? String == content)

                // complete charges once; a second complete charges nothing.
                for _ in 0..<2 {
                    let (status, completed) = try await teamCall(client, team, .post, "/api/jobs/\(jobID)/complete", #"{"status":"completed"}"#)
                    #expect(status == .ok && completed["status"] as? String == "completed")
                    let balance = try await balance(client, team)
                    #expect(balance["credits_used"] as? Int == 1 && balance["credits_reserved"] as? Int == 0)
                }
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("an upstream failure ends the stream with event: error 'LLM call failed: …' and charges nothing")
    func streamFailure() async throws {
        let mock = try await MockUpstream(name: "mock-stream-failure")
        let worker = try await ManagedProcess.worker("worker-stream-failure")
        try await Self.stopping(worker, mock) {
            let postgres = E2E.postgres()
            defer { postgres.shutdown() }
            try await mock.behave(#"{"mode":"bad_key","failure_rate":1}"#)
            try await E2E.withAPI { client in
                let team = try await Fixture.team(client, mock: mock, credits: 100)
                let stream = try await openStream(client, team, "POST", "/api/jobs/create-and-call-stream", body: singleCallBody(team))
                #expect(stream.status == 200)
                let jobID = try #require(stream.headers["x-job-id"])
                let (deltas, final) = try await readCallStream(stream)
                #expect(deltas.isEmpty)
                let error = try #require(final)
                #expect(error.event == "error")
                #expect(error.id == "0-0")
                #expect((error.json["detail"] as? String)?.hasPrefix("LLM call failed: ") == true, "\(error)")
                let (_, job) = try await Fixture.get(client, team, "/api/jobs/\(jobID)")
                #expect(job["status"] as? String == "failed" && job["credits_charged"] as? Int == 0)

                // The same for a step-by-step call.
                let container = try await createContainer(client, team)
                let body = #"{"model":"\#(team.group)","messages":[{"role":"user","content":"hi"}]}"#
                let callStream = try await openStream(client, team, "POST", "/api/jobs/\(container)/llm-call-stream", body: body)
                #expect(callStream.status == 200)
                let (callDeltas, callFinal) = try await readCallStream(callStream)
                #expect(callDeltas.isEmpty)
                #expect(callFinal?.event == "error")
                #expect((callFinal?.json["detail"] as? String)?.hasPrefix("LLM call failed: ") == true)

                #expect(try await chargeRows(postgres, jobID) == 0)
                // The step-by-step job holds its own credit until it ends; cancelled, nothing is held.
                let (cancelled, _) = try await teamCall(client, team, .post, "/api/jobs/\(container)/cancel")
                #expect(cancelled == .ok)
                let balance = try await balance(client, team)
                #expect(balance["credits_used"] as? Int == 0 && balance["credits_reserved"] as? Int == 0, "\(balance)")
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("STREAMS_PER_TEAM: past it a 429, per team; a stream that is left frees its place; idle streams send keep-alives")
    func streamLimit() async throws {
        let mock = try await MockUpstream(name: "mock-stream-limit")
        try await Self.stopping(nil, mock) {
            let postgres = E2E.postgres()
            defer { postgres.shutdown() }
            try await Self.withAPI(["STREAMS_PER_TEAM": "2", "STREAM_KEEPALIVE_SECONDS": "0.2"]) { client in
                let team = try await Fixture.team(client, mock: mock, credits: 100)
                let other = try await Fixture.team(client, mock: mock, credits: 100)
                // No worker runs: the jobs stay queued and their event streams stay open.
                var jobIDs: [String] = []
                for _ in 0..<3 { jobIDs.append(try #require(try await Fixture.submit(client, team).1["job_id"] as? String)) }
                let otherJob = try #require(try await Fixture.submit(client, other).1["job_id"] as? String)

                let one = try await openStream(client, team, "GET", "/api/jobs/\(jobIDs[0])/events")
                let two = try await openStream(client, team, "GET", "/api/jobs/\(jobIDs[1])/events")
                #expect(one.status == 200 && two.status == 200)
                #expect(try await one.next()?.json["status"] as? String == "queued")
                #expect(await one.waitForComments(2), "an idle stream sends keep-alive comments")

                let refused = try await openStream(client, team, "GET", "/api/jobs/\(jobIDs[2])/events")
                #expect(refused.status == 429)
                #expect(refused.headers["retry-after"] == "1")
                #expect(await refused.json()["detail"] as? String == "Too many open streams for this team (limit 2)")
                // A stream refused for the limit queues nothing: its slot is taken before the work.
                let jobsBefore = try await postgres.query("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.teamID)])
                    .first!.decode("n", as: Int.self)
                let refusedCall = try await openStream(client, team, "POST", "/api/jobs/create-and-call-stream", body: singleCallBody(team))
                #expect(refusedCall.status == 429)
                refusedCall.close()
                let jobsAfter = try await postgres.query("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.teamID)])
                    .first!.decode("n", as: Int.self)
                #expect(jobsAfter == jobsBefore, "a refused stream created a job")
                let elsewhere = try await openStream(client, other, "GET", "/api/jobs/\(otherJob)/events")
                #expect(elsewhere.status == 200, "the limit is per team")
                elsewhere.close()

                // A client that leaves is noticed at the next write (a keep-alive): its place frees.
                one.close()
                let deadline = ContinuousClock.now + .seconds(10)
                var reopened: SSEConnection?
                while ContinuousClock.now < deadline {
                    let attempt = try await openStream(client, team, "GET", "/api/jobs/\(jobIDs[2])/events")
                    if attempt.status == 200 {
                        reopened = attempt
                        break
                    }
                    attempt.close()
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(reopened != nil, "the place of a stream that was left is never freed")
                reopened?.close()
                two.close()
                for id in jobIDs { _ = try await teamCall(client, team, .post, "/api/jobs/\(id)/cancel") }
                _ = try await teamCall(client, other, .post, "/api/jobs/\(otherJob)/cancel")
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("job events of a document job: calls_done rises to the end, completed last; Last-Event-ID gets only newer snapshots")
    func documentJobEvents() async throws {
        let mock = try await MockUpstream(name: "mock-stream-events")
        let worker = try await ManagedProcess.worker("worker-stream-events", environment: ["DOCUMENT_CONCURRENCY": "1"])
        try await Self.stopping(worker, mock) {
            let postgres = E2E.postgres()
            defer { postgres.shutdown() }
            try await mock.behave(#"{"latency_ms":400}"#)
            try await E2E.withAPI { client in
                let team = try await Fixture.team(client, mock: mock, credits: 100, contextTokens: 4000)
                let (submitted, created) = try await submitDocument(client, team, Self.document(kilobytes: 100))
                #expect(submitted == .accepted)
                let jobID = try #require(created["job_id"] as? String)
                let stream = try await openStream(client, team, "GET", "/api/jobs/\(jobID)/events")
                #expect(stream.status == 200)
                let events = try await stream.events { ["completed", "failed", "cancelled", "expired"].contains($0.json["status"] as? String ?? "") }
                #expect(try await stream.next() == nil, "the stream ends after the terminal status")
                stream.close()

                #expect(events.allSatisfy { $0.event == "status" })
                let last = try #require(events.last)
                #expect(last.json["status"] as? String == "completed")
                #expect(last.json["result"] != nil && last.json["credits_charged"] as? Int == 1)
                let progress = events.map { ($0.json["progress"] as? [String: Any])?["calls_done"] as? Int ?? -1 }
                #expect(zip(progress, progress.dropFirst()).allSatisfy { $0 <= $1 }, "calls_done never goes back: \(progress)")
                let running = Set(events.filter { $0.json["status"] as? String == "in_progress" }.map { progress[events.firstIndex(of: $0)!] })
                #expect(running.count >= 2, "progress shows between the first call and the end: \(events.map(\.id))")
                let planned = try #require((last.json["progress"] as? [String: Any])?["calls_planned"] as? Int)
                let (_, calls) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/calls")
                let made = try #require(calls["calls"] as? [[String: Any]]).count
                #expect(planned > 3 && progress.last == made && made <= planned, "\(progress) of \(planned), \(made) calls")
                #expect(Set(events.compactMap(\.id)).count == events.count, "every snapshot differs from the one before")
                for event in events {
                    let data = event.json
                    let p = data["progress"] as? [String: Any] ?? [:]
                    let id =
                        "\(data["status"] as? String ?? "").\(p["calls_done"] as? Int ?? -1).\(p["calls_planned"] as? Int ?? -1).\(data["attempts"] as? Int ?? -1)"
                    #expect(event.id == id)
                }

                // With a middle snapshot's id: only what is newer (the job ended: its terminal status).
                let middle = try #require(events.dropLast().last?.id)
                let resumed = try await openStream(client, team, "GET", "/api/jobs/\(jobID)/events", lastEventID: middle)
                let newer = try await resumed.events()
                #expect(newer.map(\.id) == [last.id])
                // With the terminal id: nothing, and the stream ends.
                let ended = try await openStream(client, team, "GET", "/api/jobs/\(jobID)/events", lastEventID: last.id)
                #expect(ended.status == 200)
                #expect(try await ended.events().isEmpty)
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("a running job's events resumed mid-way with Last-Event-ID start after that snapshot")
    func jobEventsResumeMidway() async throws {
        let mock = try await MockUpstream(name: "mock-stream-events-mid")
        let worker = try await ManagedProcess.worker("worker-stream-events-mid", environment: ["DOCUMENT_CONCURRENCY": "1"])
        try await Self.stopping(worker, mock) {
            let postgres = E2E.postgres()
            defer { postgres.shutdown() }
            try await mock.behave(#"{"latency_ms":400}"#)
            try await E2E.withAPI { client in
                let team = try await Fixture.team(client, mock: mock, credits: 100, contextTokens: 4000)
                let jobID = try #require(try await submitDocument(client, team, Self.document(kilobytes: 100)).1["job_id"] as? String)
                let stream = try await openStream(client, team, "GET", "/api/jobs/\(jobID)/events")
                let seen = try await stream.events { ($0.json["progress"] as? [String: Any])?["calls_done"] as? Int ?? 0 >= 1 }
                stream.close()
                let mid = try #require(seen.last)
                let midDone = try #require((mid.json["progress"] as? [String: Any])?["calls_done"] as? Int)
                #expect(mid.json["status"] as? String == "in_progress")

                let resumed = try await openStream(client, team, "GET", "/api/jobs/\(jobID)/events", lastEventID: mid.id)
                let rest = try await resumed.events()
                #expect(!rest.isEmpty)
                #expect(!rest.contains { $0.id == mid.id }, "the snapshot the client had was sent again")
                let done = rest.map { ($0.json["progress"] as? [String: Any])?["calls_done"] as? Int ?? -1 }
                #expect(done.allSatisfy { $0 >= midDone }, "an older snapshot after \(mid.id ?? ""): \(rest.map(\.id))")
                #expect(rest.last?.json["status"] as? String == "completed")
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    @Test("a foreign team's job: 403 'Job does not belong to your team' on the stream, calls' stream, llm-call-stream and events routes")
    func streamRoutesOfAnotherTeam() async throws {
        let mock = try await MockUpstream(name: "mock-stream-foreign")
        try await Self.stopping(nil, mock) {
            let postgres = E2E.postgres()
            defer { postgres.shutdown() }
            try await E2E.withAPI { client in
                let owner = try await Fixture.team(client, mock: mock, credits: 100)
                let other = try await Fixture.team(client, mock: mock, credits: 100)
                // No worker runs: the owner's job and call stay queued.
                let single = try await openStream(client, owner, "POST", "/api/jobs/create-and-call-stream", body: singleCallBody(owner))
                let singleID = try #require(single.headers["x-job-id"])
                single.close()
                let container = try await createContainer(client, owner)
                let body = #"{"model":"\#(owner.group)","messages":[{"role":"user","content":"hi"}]}"#
                let call = try await openStream(client, owner, "POST", "/api/jobs/\(container)/llm-call-stream", body: body)
                let callID = try #require(call.headers["x-call-id"])
                call.close()

                let otherBody = #"{"model":"\#(other.group)","messages":[{"role":"user","content":"hi"}]}"#
                let routes: [(String, String, String?, String?)] = [
                    ("GET", "/api/jobs/\(singleID)/stream", nil, nil),
                    ("GET", "/api/jobs/\(singleID)/events", nil, nil),
                    ("GET", "/api/jobs/\(container)/events", nil, nil),
                    ("GET", "/api/jobs/\(container)/calls/\(callID)/stream", nil, nil),
                    ("POST", "/api/jobs/\(container)/llm-call-stream", otherBody, nil),
                    ("POST", "/api/jobs/\(container)/llm-call-stream", otherBody, "0-0"),
                ]
                for (method, path, body, lastEventID) in routes {
                    let stream = try await openStream(client, other, method, path, body: body, lastEventID: lastEventID)
                    #expect(stream.status == 403, "\(method) \(path)")
                    #expect(await stream.json()["detail"] as? String == "Job does not belong to your team", "\(method) \(path)")
                }
                let unknown = UUID().uuidString.lowercased()
                for path in ["/api/jobs/\(unknown)/stream", "/api/jobs/\(unknown)/events", "/api/jobs/\(container)/calls/\(unknown)/stream"] {
                    let stream = try await openStream(client, owner, "GET", path)
                    #expect(stream.status == 404, "\(path)")
                }
                // A step-by-step job's streams are its calls'.
                let wrong = try await openStream(client, owner, "GET", "/api/jobs/\(container)/stream")
                #expect(wrong.status == 409)
                #expect(
                    await wrong.json()["detail"] as? String
                        == "Job was created without work; read its calls' streams at /api/jobs/{job_id}/calls/{call_id}/stream"
                )
                #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(other.teamID)]) == 0)
                for id in [singleID, container] { _ = try await teamCall(client, owner, .post, "/api/jobs/\(id)/cancel") }
                #expect(try await balance(client, owner)["credits_reserved"] as? Int == 0)
            }
            try await Fixture.checkLedger(postgres)
        }
    }

    /// Runs `body`, then stops the worker and the mock, whether `body` returned or threw: the
    /// processes of a test are stopped before it ends (a `defer`'s task may never run when the
    /// test is the run's last, leaving them behind).
    static func stopping(_ worker: ManagedProcess?, _ mock: MockUpstream, body: () async throws -> Void) async throws {
        let outcome: Result<Void, any Error>
        do {
            try await body()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await worker?.stop()
        await mock.stop()
        try outcome.get()
    }

    /// ``E2E/withAPI(_:)`` with `extra` environment (a small stream limit, fast keep-alives).
    static func withAPI<T: Sendable>(
        _ extra: [String: String],
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        try await E2E.prepare()
        var logger = Logger(label: "e2e-api-streams")
        logger.logLevel = .warning
        let environment = E2E.environment.merging(extra) { $1 }
        let configuration = try AppConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment)))
        let dependencies = try AppDependencies(configuration: configuration, logger: logger)
        return try await buildApplication(dependencies, logger: logger).test(.live) { client in try await body(client) }
    }
}
