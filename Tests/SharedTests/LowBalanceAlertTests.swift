import Foundation
import Postgres
import Testing

@testable import Shared

/// `low_balance_threshold`: going below it sends `credits.low` (a webhook delivery, when the team
/// subscribed, and an audit row) once per crossing, whatever writes the balance — submit's
/// reservations, an admin's adjustment — and credits added back above it re-arm the alert. The
/// migration's trigger does it in the statement that changes the balance.
@Suite("Low-balance alerts")
struct LowBalanceAlertTests {
    struct Context {
        let postgres: PostgresClient
        let jobs: PostgresJobStore
        let credits: PostgresCreditStore
        let team: String

        /// `count` jobs reserving one credit each (job_based).
        func submit(_ count: Int) async throws {
            let submissions = JobSubmission.chats(count, team: team)
            for result in try await jobs.submit(submissions) { _ = try result.get() }
        }

        func alerts() async throws -> (audit: Int, deliveries: Int) {
            let audit = try await postgres.query(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'credits.low' AND target = $1",
                [.text(team)]
            )
            let deliveries = try await postgres.query(
                "SELECT count(*) AS n FROM webhook_deliveries WHERE event = 'credits.low' AND team_id = $1",
                [.text(team)]
            )
            return (try audit.first!.decode("n"), try deliveries.first!.decode("n"))
        }

        func remaining() async throws -> Int {
            try await credits.balance(teamID: team).0.remaining
        }
    }

    static func context(allocated: Int, threshold: Int) async throws -> Context {
        let postgres = try await TestEnvironment.ownDatabase("lowbalance")
        let team = "lb-\(UUID().uuidString.prefix(8).lowercased())"
        try await postgres.query(
            "INSERT INTO organizations (organization_id, name) VALUES ('lowbalance-org', 'low balance') ON CONFLICT DO NOTHING",
            []
        )
        try await postgres.query("INSERT INTO teams (team_id, organization_id) VALUES ($1, 'lowbalance-org')", [.text(team)])
        try await postgres.query(
            "INSERT INTO credit_accounts (team_id, credits_allocated, low_balance_threshold) VALUES ($1, $2, $3)",
            [.text(team), .int(allocated), .int(threshold)]
        )
        try await postgres.query(
            """
            INSERT INTO webhook_endpoints (team_id, url, events, secret_encrypted)
            VALUES ($1, 'https://hooks.example.com/x', ARRAY['credits.low', 'job.completed'], '\\x00')
            """,
            [.text(team)]
        )
        return Context(postgres: postgres, jobs: PostgresJobStore(postgres: postgres), credits: PostgresCreditStore(postgres: postgres), team: team)
    }

    @Test("reservations crossing the threshold alert once; added credits re-arm; the next crossing alerts again")
    func oncePerCrossing() async throws {
        let context = try await Self.context(allocated: 100, threshold: 50)
        try await context.submit(50)  // 50 left: not below
        #expect(try await context.alerts() == (0, 0))
        try await context.submit(1)  // 49: crossed
        #expect(try await context.alerts() == (1, 1))
        try await context.submit(10)  // still below: no second alert
        #expect(try await context.alerts() == (1, 1))
        _ = try await context.credits.add(teamID: context.team, credits: 10, reason: nil, idempotencyKey: nil, requestHash: nil)
        #expect(try await context.remaining() == 49)  // added, but still below: not re-armed
        _ = try await context.credits.add(teamID: context.team, credits: 100, reason: nil, idempotencyKey: nil, requestHash: nil)
        #expect(try await context.alerts() == (1, 1))  // re-armed, no alert
        try await context.submit(100)  // 149 → 49: crossed again
        #expect(try await context.alerts() == (2, 2))
        context.postgres.shutdown()
    }

    @Test("an admin's negative adjustment crossing the threshold alerts, with the balance in the event")
    func adjustmentCrossing() async throws {
        let context = try await Self.context(allocated: 100, threshold: 30)
        _ = try await context.credits.adjust(teamID: context.team, credits: -80, reason: "test", idempotencyKey: nil, requestHash: nil)
        #expect(try await context.alerts() == (1, 1))
        let payload = try #require(
            try await context.postgres.query(
                "SELECT payload->'data' AS data FROM webhook_deliveries WHERE event = 'credits.low' AND team_id = $1",
                [.text(context.team)]
            ).first
        )
        let data = try payload.decode("data", as: PostgresJSON.self)
        let object = try #require(try JSONSerialization.jsonObject(with: data.data) as? [String: Any])
        #expect(object["credits_remaining"] as? Int == 20)
        #expect(object["low_balance_threshold"] as? Int == 30)
        #expect(object["team_id"] as? String == context.team)
        context.postgres.shutdown()
    }

    @Test("a team not subscribed to credits.low still gets the audit row, and no delivery")
    func unsubscribedTeamAuditOnly() async throws {
        let context = try await Self.context(allocated: 10, threshold: 5)
        try await context.postgres.query("UPDATE webhook_endpoints SET events = ARRAY['job.completed'] WHERE team_id = $1", [.text(context.team)])
        try await context.submit(6)
        #expect(try await context.alerts() == (1, 0))
        context.postgres.shutdown()
    }
}
