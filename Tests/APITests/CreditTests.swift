import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

@Suite("Credits: add, adjust, budget mode, balance and the ledger")
struct CreditTests {
    /// The sum of a team's ledger rows, which must equal its remaining balance.
    static func ledgerSum(_ team: String) async throws -> Int {
        try await Database.int("SELECT COALESCE(SUM(credits_amount), 0)::bigint AS n FROM credit_ledger WHERE team_id = $1", [.text(team)]) ?? -1
    }

    static func ledgerRows(_ team: String) async throws -> Int {
        try await Database.int("SELECT count(*) AS n FROM credit_ledger WHERE team_id = $1", [.text(team)]) ?? -1
    }

    @Test("add credits: 200 with the ledger row; the balance grows")
    func add() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let added = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 50, "reason": "top-up"}"#)
            #expect(added.status == .ok, "\(added.summary)")
            #expect(added.string("team_id") == team.id)
            #expect(added.int("credits_added") == 50)
            let transaction = try #require(added.json?["transaction"] as? [String: Any])
            #expect(UUID(uuidString: transaction["transaction_id"] as? String ?? "") != nil)
            #expect(transaction["transaction_type"] as? String == "allocation")
            #expect(TestResponse.int(transaction["credits_amount"]) == 50)
            #expect(TestResponse.int(transaction["credits_after"]) == 150)
            #expect(transaction["reason"] as? String == "top-up")
            #expect(Fixture.isTimestamp(transaction["created_at"]))

            #expect(try await api.remaining(team.id) == 150)
            let noReason = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 1}"#)
            #expect(noReason.status == .ok)
            #expect(try await api.remaining(team.id) == 151)
            #expect(try await Self.ledgerSum(team.id) == 151)
        }
    }

    @Test("add takes only positive integers: 422 naming credits, and the balance is unchanged")
    func addValidation() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 10)
            for body in [
                #"{"credits": 0}"#, #"{"credits": -5}"#, #"{"credits": "10"}"#, #"{"credits": null}"#,
                #"{"reason": "no amount"}"#, #"{"credits": true}"#, #"{"credits": 1000000000000000}"#,
            ] {
                let response = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.summary)")
                #expect(response.detail?.contains("credits") == true, "\(body): \(response.summary)")
            }
            let longReason = try await api.admin(
                .post,
                "/api/credits/teams/\(team.id)/add",
                #"{"credits": 1, "reason": "\#(String(repeating: "r", count: 501))"}"#
            )
            #expect(longReason.status == .unprocessableContent)
            #expect(longReason.detail?.contains("reason") == true)
            #expect(try await api.remaining(team.id) == 10)
            #expect(try await Self.ledgerRows(team.id) == 1)
        }
    }

    @Test("add to an unknown team is a 404 and invents no account")
    func addUnknownTeam() async throws {
        try await Caller.run { api in
            let unknown = Fixture.id("missing-team")
            let response = try await api.admin(.post, "/api/credits/teams/\(unknown)/add", #"{"credits": 10}"#)
            #expect(response.status == .notFound)
            #expect(response.detail == "Team '\(unknown)' not found")
            let keyed = try await api.admin(
                .post,
                "/api/credits/teams/\(unknown)/add",
                #"{"credits": 10}"#,
                headers: [.idempotencyKey: UUID().uuidString]
            )
            #expect(keyed.status == .notFound)
            #expect(keyed.detail == "Team '\(unknown)' not found")

            let balance = try await api.admin(.get, "/api/credits/teams/\(unknown)/balance")
            #expect(balance.status == .notFound)
            #expect(balance.detail == "Team '\(unknown)' not found")
            let transactions = try await api.admin(.get, "/api/credits/teams/\(unknown)/transactions")
            #expect(transactions.status == .notFound)
            #expect(try await api.admin(.get, "/api/teams/\(unknown)").status == .notFound)
        }
        let unknown = Fixture.id("missing-team")
        try await Caller.run { api in
            _ = try await api.admin(.post, "/api/credits/teams/\(unknown)/add", #"{"credits": 10}"#)
            _ = try await api.admin(.post, "/api/credits/teams/\(unknown)/adjust", #"{"credits": 10, "reason": "x"}"#)
        }
        #expect(try await Database.int("SELECT count(*) AS n FROM credit_accounts WHERE team_id = $1", [.text(unknown)]) == 0)
        #expect(try await Database.int("SELECT count(*) AS n FROM credit_ledger WHERE team_id = $1", [.text(unknown)]) == 0)
        #expect(try await Database.int("SELECT count(*) AS n FROM teams WHERE team_id = $1", [.text(unknown)]) == 0)
    }

    @Test("Idempotency-Key: the same key and body credit once and answer the same transaction")
    func idempotentAdd() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let key = "topup-\(UUID().uuidString)"
            let body = #"{"credits": 25, "reason": "invoice 42"}"#
            let first = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", body, headers: [.idempotencyKey: key])
            #expect(first.status == .ok, "\(first.summary)")
            // Other changes in between: the replay still answers as the first time did.
            _ = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 5}"#)
            let second = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", body, headers: [.idempotencyKey: key])
            #expect(second.status == .ok, "\(second.summary)")
            let t1 = try #require(first.json?["transaction"] as? [String: Any])
            let t2 = try #require(second.json?["transaction"] as? [String: Any])
            #expect(t1["transaction_id"] as? String == t2["transaction_id"] as? String)
            #expect(TestResponse.int(t2["credits_after"]) == 125)
            #expect(second.int("credits_added") == 25)
            #expect(try await api.remaining(team.id) == 130)
            #expect(try await Self.ledgerRows(team.id) == 3)

            // The same key with a different body.
            for other in [#"{"credits": 26, "reason": "invoice 42"}"#, #"{"credits": 25, "reason": "invoice 43"}"#, #"{"credits": 25}"#] {
                let reused = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", other, headers: [.idempotencyKey: key])
                #expect(reused.status == .conflict, "\(other): \(reused.summary)")
                #expect(reused.detail == "Idempotency-Key reused with a different request")
            }
            #expect(try await api.remaining(team.id) == 130)
            #expect(try await Self.ledgerSum(team.id) == 130)
        }
    }

    @Test("Idempotency-Key: concurrent twins credit once")
    func idempotentConcurrentAdd() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 0)
            let key = UUID().uuidString
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let response = try await api.admin(
                            .post,
                            "/api/credits/teams/\(team.id)/add",
                            #"{"credits": 7}"#,
                            headers: [.idempotencyKey: key]
                        )
                        #expect(response.status == .ok, "\(response.summary)")
                        return (response.json?["transaction"] as? [String: Any])?["transaction_id"] as? String
                    }
                }
                var ids: [String?] = []
                for try await id in group { ids.append(id) }
                return ids
            }
            #expect(Set(ids).count == 1)
            #expect(ids.allSatisfy { $0 != nil })
            #expect(try await api.remaining(team.id) == 7)
            #expect(try await Self.ledgerRows(team.id) == 1)
        }
    }

    @Test("50 concurrent adds sum exactly, and the ledger adds up to the balance")
    func concurrentAdds() async throws {
        try await Caller.run { api in
            let initial = 1000
            let n = 7
            let team = try await api.createTeam(credits: initial)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": \#(n), "reason": "parallel \#(i)"}"#).status
                    }
                }
                var statuses: [HTTPResponse.Status] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses.count == 50)
            #expect(statuses.allSatisfy { $0 == .ok }, "\(statuses.filter { $0 != .ok })")
            let remaining = try await api.remaining(team.id)
            #expect(remaining == initial + 50 * n)
            #expect(try await Self.ledgerSum(team.id) == remaining)
            #expect(try await Self.ledgerRows(team.id) == 51)

            // Every credits_after is distinct: the adds were serialised, none saw a stale balance.
            let (rows, _) = try await api.walk("/api/credits/teams/\(team.id)/transactions", key: "transactions", limit: 100)
            let afters = rows.compactMap { TestResponse.int($0["credits_after"]) }
            #expect(afters.count == 51)
            #expect(Set(afters).count == 51)
            #expect(afters.max() == remaining)
        }
    }

    @Test("adjust: signed credits ≠ 0 with a reason; 409 below zero; 404 for an unknown team")
    func adjust() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let up = try await api.admin(.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": 20, "reason": "goodwill"}"#)
            #expect(up.status == .ok, "\(up.summary)")
            #expect(up.int("credits_added") == 20)
            let upRow = try #require(up.json?["transaction"] as? [String: Any])
            #expect(upRow["transaction_type"] as? String == "adjustment")
            #expect(TestResponse.int(upRow["credits_after"]) == 120)
            #expect(upRow["reason"] as? String == "goodwill")

            let down = try await api.admin(.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": -70, "reason": "correction"}"#)
            #expect(down.status == .ok, "\(down.summary)")
            #expect(down.int("credits_added") == -70)
            #expect(TestResponse.int((down.json?["transaction"] as? [String: Any])?["credits_after"]) == 50)
            #expect(try await api.remaining(team.id) == 50)

            let tooMuch = try await api.admin(.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": -51, "reason": "too much"}"#)
            #expect(tooMuch.status == .conflict, "\(tooMuch.summary)")
            #expect(try await api.remaining(team.id) == 50)

            let toZero = try await api.admin(.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": -50, "reason": "close"}"#)
            #expect(toZero.status == .ok)
            #expect(try await api.remaining(team.id) == 0)
            #expect(try await Self.ledgerSum(team.id) == 0)

            let unknown = Fixture.id("missing-team")
            let missing = try await api.admin(.post, "/api/credits/teams/\(unknown)/adjust", #"{"credits": 5, "reason": "x"}"#)
            #expect(missing.status == .notFound)
            #expect(missing.detail == "Team '\(unknown)' not found")
        }
    }

    @Test("adjust refuses zero, non-integers and a missing or empty reason with a 422 naming the field")
    func adjustValidation() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let cases: [(body: String, field: String)] = [
                (#"{"credits": 0, "reason": "nothing"}"#, "credits"),
                (#"{"credits": "5", "reason": "x"}"#, "credits"),
                (#"{"reason": "x"}"#, "credits"),
                (#"{"credits": 5}"#, "reason"),
                (#"{"credits": 5, "reason": ""}"#, "reason"),
                (#"{"credits": 5, "reason": "   "}"#, "reason"),
                (#"{"credits": 5, "reason": 12}"#, "reason"),
                (#"{"credits": 5, "reason": "\#(String(repeating: "r", count: 501))"}"#, "reason"),
            ]
            for (body, field) in cases {
                let response = try await api.admin(.post, "/api/credits/teams/\(team.id)/adjust", body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(body): \(response.summary)")
            }
            #expect(try await api.remaining(team.id) == 100)
            #expect(try await Self.ledgerRows(team.id) == 1)
        }
    }

    @Test("concurrent negative adjustments never take the balance below zero")
    func concurrentAdjustments() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await api.admin(.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": -10, "reason": "drain"}"#).status
                    }
                }
                var statuses: [HTTPResponse.Status] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses.filter { $0 == .ok }.count == 10)
            #expect(statuses.filter { $0 == .conflict }.count == 10)
            #expect(try await api.remaining(team.id) == 0)
            #expect(try await Self.ledgerSum(team.id) == 0)
        }
    }

    @Test("PATCH budget-mode answers the billing settings; GET team shows them")
    func budgetMode() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 10)
            let usd = try await api.admin(
                .patch,
                "/api/credits/teams/\(team.id)/budget-mode",
                #"{"budget_mode": "consumption_usd", "credits_per_dollar": 25}"#
            )
            #expect(usd.status == .ok, "\(usd.summary)")
            #expect(usd.string("budget_mode") == "consumption_usd")
            #expect((usd.json?["credits_per_dollar"] as? NSNumber)?.doubleValue == 25)
            #expect(usd.int("credits_remaining") == 10)

            let tokens = try await api.admin(
                .patch,
                "/api/credits/teams/\(team.id)/budget-mode",
                #"{"budget_mode": "consumption_tokens", "tokens_per_credit": 1234}"#
            )
            #expect(tokens.status == .ok)
            #expect(tokens.string("budget_mode") == "consumption_tokens")
            #expect(tokens.int("tokens_per_credit") == 1234)
            // An earlier rate not named stays.
            #expect((tokens.json?["credits_per_dollar"] as? NSNumber)?.doubleValue == 25)

            let fetched = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(fetched.string("budget_mode") == "consumption_tokens")
            #expect(fetched.int("tokens_per_credit") == 1234)
            let balance = try await api.team(team.key, .get, "/api/credits/teams/\(team.id)/balance")
            #expect(balance.string("budget_mode") == "consumption_tokens")

            let back = try await api.admin(.patch, "/api/credits/teams/\(team.id)/budget-mode", #"{"budget_mode": "job_based"}"#)
            #expect(back.string("budget_mode") == "job_based")
        }
    }

    @Test("PATCH budget-mode refuses bad settings with a 422 naming the field; unknown teams are 404s")
    func budgetModeRefusals() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let cases: [(body: String, field: String)] = [
                (#"{}"#, "budget_mode"),
                (#"{"budget_mode": "unlimited"}"#, "budget_mode"),
                (#"{"budget_mode": 1}"#, "budget_mode"),
                (#"{"budget_mode": "consumption_tokens", "tokens_per_credit": 0}"#, "tokens_per_credit"),
                (#"{"budget_mode": "consumption_tokens", "tokens_per_credit": "many"}"#, "tokens_per_credit"),
                (#"{"budget_mode": "consumption_usd", "credits_per_dollar": 0}"#, "credits_per_dollar"),
                (#"{"budget_mode": "consumption_usd", "credits_per_dollar": -1}"#, "credits_per_dollar"),
            ]
            for (body, field) in cases {
                let response = try await api.admin(.patch, "/api/credits/teams/\(team.id)/budget-mode", body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(body): \(response.summary)")
            }
            let fetched = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(fetched.string("budget_mode") == "job_based")
            #expect(fetched.int("tokens_per_credit") == 10_000)

            let unknown = Fixture.id("missing-team")
            let missing = try await api.admin(.patch, "/api/credits/teams/\(unknown)/budget-mode", #"{"budget_mode": "job_based"}"#)
            #expect(missing.status == .notFound)
            #expect(missing.detail == "Team '\(unknown)' not found")
        }
    }

    @Test("a credits_per_dollar too small for the column is refused with a 422, not a 500")
    func tinyCreditsPerDollar() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let patched = try await api.admin(
                .patch,
                "/api/credits/teams/\(team.id)/budget-mode",
                #"{"budget_mode": "consumption_usd", "credits_per_dollar": 0.0000001}"#
            )
            #expect(patched.status == .unprocessableContent, "\(patched.summary)")
            #expect(try await api.admin(.get, "/api/teams/\(team.id)").string("budget_mode") == "job_based")

            let id = Fixture.id("team")
            let created = try await api.admin(
                .post,
                "/api/teams/create",
                #"{"organization_id": "\#(team.organization)", "team_id": "\#(id)", "model_groups": [], "credits_allocated": 1, "credits_per_dollar": 0.0000001}"#
            )
            #expect(created.status == .unprocessableContent, "\(created.summary)")
            #expect(try await api.admin(.get, "/api/teams/\(id)").status == .notFound)
        }
    }

    @Test("balance: allocated, used, reserved, remaining and the budget mode, for the team or the admin")
    func balance() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 33)
            for response in [
                try await api.team(team.key, .get, "/api/credits/teams/\(team.id)/balance"),
                try await api.admin(.get, "/api/credits/teams/\(team.id)/balance"),
            ] {
                #expect(response.status == .ok, "\(response.summary)")
                #expect(response.string("team_id") == team.id)
                #expect(response.int("credits_allocated") == 33)
                #expect(response.int("credits_used") == 0)
                #expect(response.int("credits_reserved") == 0)
                #expect(response.int("credits_remaining") == 33)
                #expect(response.string("budget_mode") == "job_based")
            }
        }
    }

    @Test("transactions: newest first; limit=2 walks every row exactly once")
    func transactionsPagination() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 10)
            for i in 1...6 {
                let response = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": \#(i), "reason": "row \#(i)"}"#)
                #expect(response.status == .ok)
            }
            _ = try await api.admin(.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": -3, "reason": "row 7"}"#)

            let all = try await api.team(team.key, .get, "/api/credits/teams/\(team.id)/transactions")
            #expect(all.status == .ok)
            let everything = all.objects("transactions")
            #expect(everything.count == 8)
            #expect(all.isNull("next_cursor"))
            let first = try #require(everything.first)
            #expect(first["reason"] as? String == "row 7")
            #expect(first["transaction_type"] as? String == "adjustment")
            #expect(everything.last?["reason"] as? String == "initial allocation" || everything.last?["transaction_type"] as? String == "allocation")
            for row in everything {
                #expect(UUID(uuidString: row["transaction_id"] as? String ?? "") != nil)
                #expect(row["transaction_type"] is String)
                #expect(row["credits_amount"] is NSNumber)
                #expect(row["credits_after"] is NSNumber)
                #expect(Fixture.isTimestamp(row["created_at"]))
            }
            // Newest first: each row's credits_after is the next older row's plus its own amount.
            for (newer, older) in zip(everything, everything.dropFirst()) {
                #expect(
                    TestResponse.int(newer["credits_after"]) == TestResponse.int(older["credits_after"])! + TestResponse.int(newer["credits_amount"])!
                )
            }

            let (walked, pages) = try await api.walk(
                "/api/credits/teams/\(team.id)/transactions",
                key: "transactions",
                limit: 2,
                headers: [.authorization: "Bearer \(team.key)"]
            )
            #expect(pages == 4)
            let ids = walked.compactMap { $0["transaction_id"] as? String }
            #expect(ids == everything.compactMap { $0["transaction_id"] as? String }, "the walk sees every row once, in order")
            let sum = walked.compactMap { TestResponse.int($0["credits_amount"]) }.reduce(0, +)
            #expect(sum == (try await api.remaining(team.id)))
            #expect(sum == (try await Self.ledgerSum(team.id)))
        }
    }

    @Test("transactions: limit is clamped to 100; bad limits and cursors are 422s")
    func transactionsLimit() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<104 {
                    group.addTask { _ = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 1}"#) }
                }
                try await group.waitForAll()
            }
            #expect(try await Self.ledgerRows(team.id) == 105)
            let clamped = try await api.admin(.get, "/api/credits/teams/\(team.id)/transactions?limit=1000")
            #expect(clamped.status == .ok)
            #expect(clamped.objects("transactions").count == 100)
            let cursor = try #require(clamped.json?["next_cursor"] as? String)
            let rest = try await api.admin(
                .get,
                "/api/credits/teams/\(team.id)/transactions?limit=1000&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
            )
            #expect(rest.objects("transactions").count == 5)
            #expect(rest.isNull("next_cursor"))

            let byDefault = try await api.admin(.get, "/api/credits/teams/\(team.id)/transactions")
            #expect(byDefault.objects("transactions").count == 50)

            for query in ["limit=0", "limit=-1", "limit=ten", "cursor=%25%25%25"] {
                let response = try await api.admin(.get, "/api/credits/teams/\(team.id)/transactions?\(query)")
                #expect(response.status == .unprocessableContent, "\(query): \(response.summary)")
            }
        }
    }
}
