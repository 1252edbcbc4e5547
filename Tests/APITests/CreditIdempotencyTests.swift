import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import Shared
import Testing

@testable import API

/// Issue 8, item 17: `Idempotency-Key` on both `add` and `adjust`, and a 503 on an unknown commit
/// outcome that says whether a retry is safe.
@Suite("Credits: Idempotency-Key on add and adjust, and the unknown-outcome 503")
struct CreditIdempotencyTests {
    @Test("adjust honours Idempotency-Key: a replay changes the balance once and answers the same transaction")
    func adjustReplays() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let key = "adjust-\(UUID().uuidString)"
            let path = "/api/credits/teams/\(team.id)/adjust"
            let first = try await api.admin(.post, path, #"{"credits": -30, "reason": "refund"}"#, headers: [.idempotencyKey: key])
            #expect(first.status == .ok, "\(first.summary)")
            let second = try await api.admin(.post, path, #"{"credits": -30, "reason": "refund"}"#, headers: [.idempotencyKey: key])
            #expect(second.status == .ok, "\(second.summary)")
            let firstID = (first.json?["transaction"] as? [String: Any])?["transaction_id"] as? String
            #expect(firstID != nil)
            #expect((second.json?["transaction"] as? [String: Any])?["transaction_id"] as? String == firstID)
            #expect(try await api.remaining(team.id) == 70)
            // A replay after the balance moved still answers the first outcome.
            _ = try await api.admin(.post, path, #"{"credits": -70, "reason": "empty it"}"#)
            let third = try await api.admin(.post, path, #"{"credits": -30, "reason": "refund"}"#, headers: [.idempotencyKey: key])
            #expect(third.status == .ok, "\(third.summary)")
            #expect((third.json?["transaction"] as? [String: Any])?["transaction_id"] as? String == firstID)
            #expect(try await api.remaining(team.id) == 0)

            let other = try await api.admin(.post, path, #"{"credits": 5, "reason": "refund"}"#, headers: [.idempotencyKey: key])
            #expect(other.status == .conflict, "\(other.summary)")
            #expect(other.detail == "Idempotency-Key reused with a different request")
            // The key space is the team's: an add may not reuse an adjustment's key either.
            let asAdd = try await api.admin(
                .post,
                "/api/credits/teams/\(team.id)/add",
                #"{"credits": 30, "reason": "refund"}"#,
                headers: [.idempotencyKey: key]
            )
            #expect(asAdd.status == .conflict, "\(asAdd.summary)")
            #expect(try await api.remaining(team.id) == 0)
        }
    }

    @Test("concurrent adjust twins with one key change the balance once")
    func adjustTwins() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let key = "twin-\(UUID().uuidString)"
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await api.admin(
                            .post,
                            "/api/credits/teams/\(team.id)/adjust",
                            #"{"credits": 7, "reason": "twins"}"#,
                            headers: [.idempotencyKey: key]
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok }, "\(statuses)")
            #expect(try await api.remaining(team.id) == 107)
        }
    }

    /// A store whose every balance change ends with the connection lost during COMMIT.
    struct UnknownOutcomeStore: CreditStore {
        func add(teamID: String, credits: Int, reason: String?, idempotencyKey: String?, requestHash: [UInt8]?) async throws -> LedgerEntry {
            throw PostgresError.commitOutcomeUnknown("connection lost during COMMIT")
        }
        func adjust(teamID: String, credits: Int, reason: String, idempotencyKey: String?, requestHash: [UInt8]?) async throws -> LedgerEntry {
            throw PostgresError.commitOutcomeUnknown("connection lost during COMMIT")
        }
        func balance(teamID: String) async throws -> (CreditBalance, BillingSettings) { throw DomainError.teamNotFound(teamID) }
        func balances(teamIDs: [String]) async throws -> [String: (CreditBalance, BillingSettings)] { [:] }
        func transactions(teamID: String, limit: Int, after cursor: String?) async throws -> Page<LedgerEntry> { Page(items: [], nextCursor: nil) }
    }

    @Test("an unknown commit outcome: 503 saying to retry with the key, or to check the ledger when there is none")
    func unknownOutcome() async throws {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        let routes = RouteTable(router: router).group("/api")
        var logger = Logger(label: "credit-idempotency-tests")
        logger.logLevel = .critical
        let configuration = try TestApp.configuration()
        let postgres = PostgresClient(configuration: configuration.postgres, logger: logger)
        defer { postgres.shutdown() }
        let store = UnknownOutcomeStore()
        CreditController(credits: store, teams: PostgresTeamStore(postgres: postgres), balances: BalanceReader(credits: store))
            .addRoutes(admin: routes, teamOrAdmin: routes)
        let app = Application(router: router, logger: logger)
        try await app.test(.router) { client in
            for (path, body) in [("add", #"{"credits": 5}"#), ("adjust", #"{"credits": 5, "reason": "x"}"#)] {
                let uri = "/api/credits/teams/some-team/\(path)"
                try await client.execute(uri: uri, method: .post, headers: [.idempotencyKey: "k-1"], body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.detail == "The outcome of the request is unknown; retry with the same Idempotency-Key", "\(path)")
                }
                try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.detail == APIError.creditsOutcomeUnknown.detail, "\(path)")
                    #expect(response.detail?.contains("retry with the same Idempotency-Key") == false)
                    #expect(response.detail?.contains("check the team's transactions") == true)
                }
            }
        }
    }
}

/// Issue 8, item 18: a model group that live jobs name cannot be deleted.
@Suite("Model groups: no delete while live jobs name the group")
struct ModelGroupLiveJobsTests {
    @Test("DELETE while a queued job names the group: 409; once the job is terminal (and no team holds it) the delete goes through")
    func refusedWhileLive() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let job = try await api.submitChat(team, group: group)
            #expect(job.status == .accepted, "\(job.summary)")
            let jobID = try #require(job.string("job_id"))
            // The team no longer holds the group; its queued job still names it.
            let unassigned = try await api.admin(.put, "/api/teams/\(team.id)/model-groups", #"{"model_groups": []}"#)
            #expect(unassigned.status == .ok, "\(unassigned.summary)")

            let refused = try await api.admin(.delete, "/api/model-groups/\(group)")
            #expect(refused.status == .conflict, "\(refused.summary)")
            #expect(refused.detail == "Model group '\(group)' has live jobs")
            #expect(try await api.admin(.get, "/api/model-groups/\(group)").status == .ok)

            let cancelled = try await api.team(team.key, .post, "/api/jobs/\(jobID)/cancel")
            #expect(cancelled.status == .ok, "\(cancelled.summary)")
            let deleted = try await api.admin(.delete, "/api/model-groups/\(group)")
            #expect(deleted.status == .ok, "\(deleted.summary)")
            #expect(try await api.admin(.get, "/api/model-groups/\(group)").status == .notFound)
        }
    }
}
