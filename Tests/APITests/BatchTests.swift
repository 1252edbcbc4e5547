import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOFoundationCompat
import Postgres
import Shared
import Testing

@testable import API

/// `POST /api/jobs/batch` (API.md, Batches): each job answered on its own, as a single submit of
/// it would be; one transaction; the batch's Idempotency-Key answers a replay the same.
@Suite("Batches: per-job answers, one transaction, replays by key")
struct BatchTests {
    /// A chat submit body of `team`.
    static func job(_ team: String, _ group: String, content: String = "hi", extra: String = "") -> String {
        #"{"team_id": "\#(team)", "job_type": "t", "model": "\#(group)", "messages": [{"role": "user", "content": "\#(content)"}]\#(extra)}"#
    }

    static func batch(_ jobs: [String], allOrNothing: Bool? = nil) -> String {
        let flag = allOrNothing.map { #", "all_or_nothing": \#($0)"# } ?? ""
        return #"{"jobs": [\#(jobs.joined(separator: ","))]\#(flag)}"#
    }

    static func entries(_ response: TestResponse) -> [[String: Any]] { response.objects("jobs") }

    static func jobCount(_ team: String) async throws -> Int {
        try await Database.int("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team)]) ?? -1
    }

    /// The team's ledger rows add up to its balance, and its reservations are its live jobs'.
    static func expectLedgerAddsUp(_ team: String) async throws {
        let off = try await Database.int(
            """
            SELECT count(*) AS n FROM credit_accounts a
            WHERE a.team_id = $1
              AND (a.credits_allocated - a.credits_used - a.credits_reserved
                     <> (SELECT COALESCE(sum(credits_amount), 0) FROM credit_ledger WHERE team_id = $1)
                   OR a.credits_reserved <> (SELECT COALESCE(sum(credits_reserved), 0) FROM jobs WHERE team_id = $1 AND status = 'queued'))
            """,
            [.text(team)]
        )
        #expect(off == 0, "the ledger of \(team) does not add up")
    }

    /// The answer's entries, comparable (`JSONSerialization` objects are not Equatable).
    static func canonical(_ response: TestResponse) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("1,000 jobs with 10 bad ones: 990 queued, 10 errors at their indexes as single submits answer; a replay answers the same")
    func thousandWithTenBad() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 5_000)
            let other = try await api.createTeam(groups: [group], credits: 5)
            let bad: [Int: String] = [
                3: Self.job(team.id, group, extra: #", "priority": "high""#),
                100: #"{"team_id": "\#(team.id)", "job_type": "t", "model": "no-such-group", "messages": [{"role": "user", "content": "hi"}]}"#,
                250: Self.job(team.id, group, content: #"a\u0000b"#),
                333:
                    #"{"team_id": "\#(team.id)", "job_type": "\#(String(repeating: "j", count: 101))", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#,
                500: Self.job(team.id, group, content: #"\ud800"#),
                640: Self.job(other.id, group),
                777: "42",
                850: Self.job(team.id, group, extra: #", "max_tokens": 1e400"#),
                901: Self.job(team.id, group, extra: #", "document": "d""#),
                999: #"{"team_id": "\#(team.id)", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#,
            ]
            var jobs: [String] = []
            for index in 0..<1_000 { jobs.append(bad[index] ?? Self.job(team.id, group, content: "job \(index)")) }
            let body = Self.batch(jobs)
            let key = "batch-\(UUID().uuidString)"

            let answer = try await api.team(team.key, .post, "/api/jobs/batch", body, headers: [.idempotencyKey: key])
            #expect(answer.status == .accepted, "\(answer.summary)")
            #expect(answer.headers[.retryAfter] == "1")
            let entries = Self.entries(answer)
            try #require(entries.count == 1_000)
            for (index, entry) in entries.enumerated() {
                #expect(TestResponse.int(entry["index"]) == index)
                if let single = bad[index] {
                    // What a single submit of the same body answers (and it writes nothing).
                    let alone = try await api.team(team.key, .post, "/api/jobs/create", single)
                    let error = entry["error"] as? [String: Any]
                    #expect(TestResponse.int(error?["status"]) == Int(alone.status.code), "jobs[\(index)]: \(entry)")
                    #expect(error?["detail"] as? String == alone.detail, "jobs[\(index)]: \(entry)")
                    #expect(entry["job_id"] == nil)
                } else {
                    #expect(entry["status"] as? String == "queued", "jobs[\(index)]: \(entry)")
                    #expect(TestResponse.int(entry["credits_reserved"]) == 1)
                    #expect((entry["job_id"] as? String).flatMap(UUID.init(uuidString:)) != nil)
                }
            }
            #expect(TestResponse.int((entries[100]["error"] as? [String: Any])?["status"]) == 403)
            #expect(TestResponse.int((entries[250]["error"] as? [String: Any])?["status"]) == 422)
            #expect(try await Self.jobCount(team.id) == 990)
            #expect(try await api.remaining(team.id) == 5_000 - 990)
            #expect(try await Self.jobCount(other.id) == 0)
            // The first job is stored as submitted.
            let first = try await api.team(team.key, .get, "/api/jobs/\(entries[0]["job_id"] as? String ?? "")")
            #expect(first.status == .ok)
            #expect(first.string("status") == "queued")

            // A replay: the same answer, the same job ids, nothing new.
            let replay = try await api.team(team.key, .post, "/api/jobs/batch", body, headers: [.idempotencyKey: key])
            #expect(replay.status == .accepted, "\(replay.summary)")
            #expect(try Self.canonical(replay) == Self.canonical(answer))
            #expect(try await Self.jobCount(team.id) == 990)
            #expect(try await api.remaining(team.id) == 5_000 - 990)

            // Another body under the key.
            let other409 = try await api.team(team.key, .post, "/api/jobs/batch", Self.batch(Array(jobs.dropLast())), headers: [.idempotencyKey: key])
            #expect(other409.status == .conflict, "\(other409.summary)")
            #expect(other409.detail == "Idempotency-Key reused with a different request")
            // `all_or_nothing: false` is the flag left out: the same request.
            let flagged = try await api.team(
                team.key,
                .post,
                "/api/jobs/batch",
                Self.batch(jobs, allOrNothing: false),
                headers: [.idempotencyKey: key]
            )
            #expect(flagged.status == .accepted, "\(flagged.summary)")
            #expect(try Self.canonical(flagged) == Self.canonical(answer))
            #expect(try await Self.jobCount(team.id) == 990)
            try await Self.expectLedgerAddsUp(team.id)
            let stored = try await Database.int("SELECT count(*) AS n FROM job_batches WHERE team_id = $1", [.text(team.id)])
            #expect(stored == 1)
        }
    }

    @Test("a replay whose keys are in another order is the same request")
    func replayReordered() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let key = "reorder-\(UUID().uuidString)"
            let first = try await api.team(
                team.key,
                .post,
                "/api/jobs/batch",
                Self.batch([Self.job(team.id, group)]),
                headers: [.idempotencyKey: key]
            )
            #expect(first.status == .accepted, "\(first.summary)")
            let reordered =
                #"{"jobs": [{"messages": [{"content": "hi", "role": "user"}], "model": "\#(group)", "job_type": "t", "team_id": "\#(team.id)"}]}"#
            let second = try await api.team(team.key, .post, "/api/jobs/batch", reordered, headers: [.idempotencyKey: key])
            #expect(second.status == .accepted, "\(second.summary)")
            #expect(try Self.canonical(second) == Self.canonical(first))
            #expect(try await Self.jobCount(team.id) == 1)
        }
    }

    @Test("each job is cut from the raw body exactly: brackets, quotes and commas in strings, an escaped key, a duplicate key")
    func rawSlices() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let tricky = #"a ] } , \" [ { \\ \u00e9 \ud83d\ude00"#
            let jobs = [
                Self.job(team.id, group, extra: #", "metadata": {"note": "\#(tricky)"}"#),
                "  \n" + Self.job(team.id, group, extra: #", "metadata": {"k": [1, {"x": "]"}]}"#) + " ",
            ]
            // `\u006aobs` is `jobs`; Foundation keeps the first of duplicate keys, and so does the cut.
            let body = #"{"pad": {"jobs": [1]}, "\u006aobs": [\#(jobs.joined(separator: " ,\n"))], "jobs": [42]}"#
            let answer = try await api.team(team.key, .post, "/api/jobs/batch", body)
            #expect(answer.status == .accepted, "\(answer.summary)")
            let entries = Self.entries(answer)
            #expect(entries.compactMap { $0["status"] as? String } == ["queued", "queued"], "\(answer.summary)")
            let first = try await api.team(team.key, .get, "/api/jobs/\(entries.first?["job_id"] as? String ?? "")")
            #expect((first.json?["metadata"] as? [String: Any])?["note"] as? String == "a ] } , \" [ { \\ é 😀", "\(first.summary)")
        }
    }

    @Test("concurrent replays under one key create the jobs once")
    func concurrentReplays() async throws {
        // Six batches at once: more places than BATCH_CONCURRENCY's default of 2.
        try await TestApp.test(["BATCH_CONCURRENCY": "8"]) { client in
            let api = Caller(client: client)
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 1_000)
            let body = Self.batch((0..<50).map { Self.job(team.id, group, content: "c\($0)") })
            let key = "twins-\(UUID().uuidString)"
            let answers = try await withThrowingTaskGroup(of: String.self) { tasks in
                for _ in 0..<6 {
                    tasks.addTask {
                        let response = try await api.team(team.key, .post, "/api/jobs/batch", body, headers: [.idempotencyKey: key])
                        #expect(response.status == .accepted, "\(response.summary)")
                        return try Self.canonical(response)
                    }
                }
                return try await tasks.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(answers).count == 1)
            #expect(try await Self.jobCount(team.id) == 50)
            #expect(try await api.remaining(team.id) == 950)
            try await Self.expectLedgerAddsUp(team.id)
        }
    }

    @Test("all_or_nothing: one bad job refuses the whole batch with its status, naming it; nothing is written")
    func allOrNothing() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 3)
            let good = (0..<3).map { Self.job(team.id, group, content: "c\($0)") }

            var jobs = good
            jobs.insert(#"{"team_id": "\#(team.id)", "job_type": "", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#, at: 2)
            let invalid = try await api.team(team.key, .post, "/api/jobs/batch", Self.batch(jobs, allOrNothing: true))
            #expect(invalid.status == .unprocessableContent, "\(invalid.summary)")
            #expect(invalid.detail == "Item jobs[2] was refused, so nothing was submitted: Field 'job_type' must be 1-100 characters")

            let foreign = try await api.team(
                team.key,
                .post,
                "/api/jobs/batch",
                Self.batch(good + [Self.job(team.id, "not-held")], allOrNothing: true),
                headers: [.idempotencyKey: "aon-\(UUID().uuidString)"]
            )
            #expect(foreign.status == .forbidden, "\(foreign.summary)")
            #expect(foreign.detail == "Item jobs[3] was refused, so nothing was submitted: Team does not have access to model group 'not-held'")

            // Credits for three jobs, four asked: the fourth's 402 refuses them all.
            let short = try await api.team(
                team.key,
                .post,
                "/api/jobs/batch",
                Self.batch(good + [Self.job(team.id, group)], allOrNothing: true),
                headers: [.idempotencyKey: "aon-\(UUID().uuidString)"]
            )
            #expect(short.status.code == 402, "\(short.summary)")
            #expect(short.detail == "Item jobs[3] was refused, so nothing was submitted: Insufficient credits: 0 remaining, 1 needed")
            #expect(try await Self.jobCount(team.id) == 0)
            #expect(try await api.remaining(team.id) == 3)
            let ledger = try await Database.int("SELECT count(*) AS n FROM credit_ledger WHERE team_id = $1", [.text(team.id)])
            #expect(ledger == 1, "only the allocation")
            let records = try await Database.int("SELECT count(*) AS n FROM job_batches WHERE team_id = $1", [.text(team.id)])
            #expect(records == 0)

            // Three fit.
            let fits = try await api.team(team.key, .post, "/api/jobs/batch", Self.batch(good, allOrNothing: true))
            #expect(fits.status == .accepted, "\(fits.summary)")
            #expect(Self.entries(fits).compactMap { $0["status"] as? String } == ["queued", "queued", "queued"])
            #expect(try await api.remaining(team.id) == 0)
            try await Self.expectLedgerAddsUp(team.id)
        }
    }

    @Test("credits that run out partway: those jobs are 402s, the others queued, the ledger adds up")
    func creditsRunOut() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(
                groups: [group],
                credits: 10,
                extra: #", "budget_mode": "consumption_tokens", "tokens_per_credit": 100"#
            )
            let sizes = [400, 400, 400, 50, 400, 10]
            let jobs = sizes.map { Self.job(team.id, group, extra: #", "max_tokens": \#($0)"#) }
            // What each would reserve, from the estimate route.
            var needs: [Int] = []
            for job in jobs {
                let estimate = try await api.team(team.key, .post, "/api/jobs/estimate", job)
                needs.append(try #require(estimate.int("credits_reserved"), "\(estimate.summary)"))
            }
            let answer = try await api.team(team.key, .post, "/api/jobs/batch", Self.batch(jobs))
            #expect(answer.status == .accepted, "\(answer.summary)")
            var remaining = 10
            var reserved = 0
            for (index, entry) in Self.entries(answer).enumerated() {
                if needs[index] <= remaining {
                    #expect(entry["status"] as? String == "queued", "jobs[\(index)]: \(entry)")
                    #expect(TestResponse.int(entry["credits_reserved"]) == needs[index])
                    remaining -= needs[index]
                    reserved += needs[index]
                } else {
                    let error = entry["error"] as? [String: Any]
                    #expect(TestResponse.int(error?["status"]) == 402, "jobs[\(index)]: \(entry)")
                    #expect(error?["detail"] as? String == "Insufficient credits: \(remaining) remaining, \(needs[index]) needed")
                }
            }
            #expect(remaining < 10 && reserved > 0)
            #expect(Self.entries(answer).contains { $0["error"] != nil }, "some job must run out: \(needs)")
            #expect(try await api.remaining(team.id) == remaining)
            let balance = try await api.team(team.key, .get, "/api/credits/teams/\(team.id)/balance")
            #expect(balance.int("credits_reserved") == reserved)
            try await Self.expectLedgerAddsUp(team.id)
        }
    }

    @Test("the envelope's refusals: empty, over 1,000, not JSON, wrong shapes, multipart, over 16 MiB; nothing written")
    func envelopeRefusals() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 5_000)
            let one = Self.job(team.id, group)
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"jobs": []}"#, .unprocessableContent, "Field 'jobs' must hold at least one job"),
                (Self.batch(Array(repeating: one, count: 1_001)), .unprocessableContent, "Field 'jobs' must hold at most 1000 jobs"),
                (#"{"jobs": [\#(one)"#, .badRequest, "Request body is not valid JSON"),
                (#"{"jobs": [\#(one),]}"#, .badRequest, "Request body is not valid JSON"),
                ("not json", .badRequest, "Request body is not valid JSON"),
                (#"{}"#, .unprocessableContent, "Field 'jobs' is required"),
                (#"{"jobs": {}}"#, .unprocessableContent, "Field 'jobs' must be an array"),
                (#"[\#(one)]"#, .unprocessableContent, "Request body must be a JSON object"),
                (#"{"jobs": [\#(one)], "all_or_nothing": "yes"}"#, .unprocessableContent, "Field 'all_or_nothing' must be a boolean"),
            ]
            for (body, status, detail) in cases {
                let response = try await api.team(team.key, .post, "/api/jobs/batch", body)
                #expect(response.status == status, "\(body.prefix(80)): \(response.summary)")
                #expect(response.detail == detail, "\(body.prefix(80)): \(response.summary)")
            }
            let multipart = try await api.team(
                team.key,
                .post,
                "/api/jobs/batch",
                "--b\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n\(one)\r\n--b--\r\n",
                headers: [.contentType: "multipart/form-data; boundary=b"]
            )
            #expect(multipart.status == .unsupportedMediaType, "\(multipart.summary)")
            #expect(multipart.detail == APIError.batchNotJSON.detail)
            let huge = #"{"jobs": [\#(one)], "pad": "\#(String(repeating: "x", count: 16 << 20))"}"#
            let tooLarge = try await api.team(team.key, .post, "/api/jobs/batch", huge)
            #expect(tooLarge.status == .contentTooLarge, "\(tooLarge.summary)")
            #expect(try await Self.jobCount(team.id) == 0)
            #expect(try await api.remaining(team.id) == 5_000)
        }
    }
}
