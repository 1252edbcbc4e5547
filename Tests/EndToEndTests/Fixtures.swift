import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Postgres
import Shared
import Testing

/// A team of its own, with a provider pointing at this test's mock and a model group on it.
struct TestTeam: Sendable {
    var teamID: String
    var key: String
    var group: String
}

enum Fixture {
    static let admin = HTTPField.Name("X-Admin-Key")!
    static let idempotency = HTTPField.Name("Idempotency-Key")!

    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    @discardableResult
    static func adminCall(
        _ client: any TestClientProtocol,
        _ method: HTTPRequest.Method,
        _ uri: String,
        _ json: String? = nil
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: uri, method: method, headers: [admin: E2E.adminKey], body: json.map { ByteBuffer(string: $0) }) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    /// Creates an organization, a provider on `mock`, a model group and a team with `credits`.
    static func team(
        _ client: any TestClientProtocol,
        mock: MockUpstream,
        credits: Int = 1000,
        budgetMode: String = "job_based",
        extraTeamFields: String = "",
        prices: (Double, Double) = (1.5, 2),
        contextTokens: Int? = nil
    ) async throws -> TestTeam {
        let org = unique("org")
        let provider = unique("prov")
        let group = unique("grp")
        let team = unique("team")
        var (status, _) = try await adminCall(client, .post, "/api/organizations/create", #"{"organization_id":"\#(org)","name":"E2E"}"#)
        #expect(status == .ok)
        (status, _) = try await adminCall(
            client,
            .post,
            "/api/providers/create",
            #"{"name":"\#(provider)","kind":"openai","base_url":"\#(mock.baseURL)","api_key":"sk-mock-provider-key","timeout_seconds":30}"#
        )
        #expect(status == .ok)
        (status, _) = try await adminCall(
            client,
            .post,
            "/api/model-groups/create",
            #"{"group_name":"\#(group)","models":[{"model_name":"mock-model","provider":"\#(provider)","priority":0,"input_price_per_million":\#(prices.0),"output_price_per_million":\#(prices.1)\#(contextTokens.map { ",\"context_tokens\":\($0)" } ?? "")}]}"#
        )
        #expect(status == .ok)
        let (created, body) = try await adminCall(
            client,
            .post,
            "/api/teams/create",
            #"{"organization_id":"\#(org)","team_id":"\#(team)","model_groups":["\#(group)"],"credits_allocated":\#(credits),"budget_mode":"\#(budgetMode)"\#(extraTeamFields)}"#
        )
        #expect(created == .ok)
        return TestTeam(teamID: team, key: body["virtual_key"] as? String ?? "", group: group)
    }

    /// Submits a chat job; returns the status and the body.
    static func submit(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        content: String = "Summarise this, please.",
        extra: String = "",
        idempotencyKey: String? = nil
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        var headers: HTTPFields = [.authorization: "Bearer \(team.key)"]
        if let idempotencyKey { headers[idempotency] = idempotencyKey }
        let messages = extra.contains("\"messages\"") ? "" : #","messages":[{"role":"user","content":"\#(content)"}]"#
        let body = #"{"team_id":"\#(team.teamID)","job_type":"document_analysis","model":"\#(team.group)"\#(messages)\#(extra)}"#
        return try await client.execute(uri: "/api/jobs/create", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    static func get(_ client: any TestClientProtocol, _ team: TestTeam, _ path: String) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(team.key)"]) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    /// Long-polls until the job is terminal; returns it.
    static func waitForTerminal(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ jobID: String,
        timeout: Duration = .seconds(30)
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (_, job) = try await get(client, team, "/api/jobs/\(jobID)?wait=5")
            if let status = job["status"] as? String, ["completed", "failed", "cancelled", "expired"].contains(status) { return job }
        }
        throw HarnessError.timeout("job \(jobID) did not finish")
    }

    /// Polls PostgreSQL until every listed job is terminal.
    static func waitForJobs(_ postgres: PostgresClient, _ jobIDs: [String], timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let rows = try await postgres.query(
                "SELECT count(*) AS n FROM jobs WHERE job_id = ANY($1::text[]::uuid[]) AND completed_at IS NULL",
                [.textArray(jobIDs)]
            )
            if try rows.first!.decode("n", as: Int.self) == 0 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError.timeout("jobs did not finish")
    }

    /// The money invariants of API.md, for every team of the database: the ledger adds up to the
    /// balance, reservations are those of live jobs (and of the completed calls of open step-by-step
    /// jobs), usage is the charges of completed jobs, and
    /// no job was charged more than its reservation or more than once.
    static func checkLedger(_ postgres: PostgresClient) async throws {
        let ledger = try await postgres.query(
            """
            SELECT a.team_id FROM credit_accounts a
            LEFT JOIN (SELECT team_id, sum(credits_amount) AS s FROM credit_ledger GROUP BY team_id) l ON l.team_id = a.team_id
            WHERE a.credits_allocated - a.credits_used - a.credits_reserved <> COALESCE(l.s, 0)
            """
        )
        let teams = ledger.compactMap { try? $0.decode("team_id", as: String.self) }
        #expect(teams.isEmpty, "ledger rows do not add up to the balance for \(teams)")
        let reserved = try await postgres.query(
            """
            SELECT a.team_id FROM credit_accounts a
            LEFT JOIN (SELECT team_id, sum(credits_reserved) AS r FROM jobs c
                       WHERE status IN ('queued', 'in_progress', 'cancelling')
                          -- a completed call of a step-by-step job still open holds its reservation
                          OR (status = 'completed' AND parent_job_id IS NOT NULL AND EXISTS (
                                  SELECT 1 FROM jobs p WHERE p.job_id = c.parent_job_id AND p.status IN ('pending', 'in_progress')))
                       GROUP BY team_id) j ON j.team_id = a.team_id
            WHERE a.credits_reserved <> COALESCE(j.r, 0)
            """
        )
        #expect(reserved.isEmpty, "reserved credits differ from the live jobs' reservations")
        let used = try await postgres.query(
            """
            SELECT a.team_id FROM credit_accounts a
            LEFT JOIN (SELECT team_id, sum(credits_charged) AS c FROM jobs GROUP BY team_id) j ON j.team_id = a.team_id
            WHERE a.credits_used <> COALESCE(j.c, 0)
            """
        )
        #expect(used.isEmpty, "used credits differ from the jobs' charges")
        let charges = try await postgres.query(
            """
            SELECT j.job_id FROM jobs j
            LEFT JOIN credit_ledger l ON l.job_id = j.job_id AND l.transaction_type = 'charge'
            GROUP BY j.job_id, j.credits_charged, j.credits_reserved
            HAVING COALESCE(-sum(l.credits_amount), 0) <> j.credits_charged OR j.credits_charged > j.credits_reserved
            """
        )
        #expect(charges.isEmpty, "a job's charge rows differ from its charge")
        let remaining = try await postgres.query(
            "SELECT count(*) AS n FROM credit_accounts WHERE credits_allocated - credits_used - credits_reserved < 0"
        )
        #expect(try remaining.first!.decode("n", as: Int.self) == 0)
    }
}
