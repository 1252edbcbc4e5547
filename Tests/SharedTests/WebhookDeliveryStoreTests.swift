import Foundation
import Postgres
import Testing

@testable import Shared

/// The webhook outbox on PostgreSQL: claims lease due rows (skipping each other's), a delivery
/// whose endpoint is gone fails at once, and outcomes are recorded set-wise. Claims read the
/// whole table, so the suite has a database of its own and runs one test at a time.
@Suite("Webhook delivery store", .serialized)
struct WebhookDeliveryStoreTests {
    /// The retry window the claims use: a day.
    static let window: Duration = .seconds(86_400)

    struct Context {
        let postgres: PostgresClient
        let store: PostgresWebhookDeliveryStore
        let team: String

        /// A pending delivery, due now unless `dueIn` says otherwise, for an event `age` seconds ago.
        func add(
            dueIn seconds: Int = 0,
            age: Int = 0,
            payload: String = #"{"type": "job.completed", "data": {"n": 1}}"#
        ) async throws -> UUID {
            let rows = try await postgres.query(
                """
                INSERT INTO webhook_deliveries (team_id, event, payload, next_attempt_at, created_at)
                VALUES ($1, 'job.completed', $2::jsonb, now() + make_interval(secs => $3), now() - make_interval(secs => $4))
                RETURNING delivery_id
                """,
                [.text(team), .json(payload), .int(seconds), .int(age)]
            )
            return try rows.first!.decode("delivery_id")
        }

        func row(_ id: UUID) async throws -> PostgresRow {
            let rows = try await postgres.query(
                """
                SELECT status, attempts, last_status_code, last_error, delivered_at,
                       (extract(epoch FROM next_attempt_at - now()) * 1000)::bigint AS due_in_ms
                FROM webhook_deliveries WHERE delivery_id = $1
                """,
                [.uuid(id)]
            )
            return rows.first!
        }
    }

    static func context() async throws -> Context {
        let postgres = try await TestEnvironment.ownDatabase("webhooks")
        // Claims are global: start from an empty outbox.
        try await postgres.query("DELETE FROM webhook_deliveries", [])
        let team = "wh-\(UUID().uuidString.prefix(8).lowercased())"
        try await postgres.query(
            "INSERT INTO organizations (organization_id, name) VALUES ('webhook-org', 'webhooks') ON CONFLICT DO NOTHING",
            []
        )
        try await postgres.query("INSERT INTO teams (team_id, organization_id) VALUES ($1, 'webhook-org')", [.text(team)])
        try await postgres.query(
            """
            INSERT INTO webhook_endpoints (team_id, url, events, secret_encrypted)
            VALUES ($1, 'https://hooks.example.com/in', ARRAY['job.completed'], '\\x0102ff')
            """,
            [.text(team)]
        )
        return Context(postgres: postgres, store: PostgresWebhookDeliveryStore(postgres: postgres), team: team)
    }

    @Test("a claim takes due rows oldest first with their endpoint, leases them, and skips rows not yet due")
    func claimLeases() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let payload = #"{"type": "job.completed", "data": {"text": "é", "n": 1}}"#
        let first = try await context.add(dueIn: -2, payload: payload)
        let second = try await context.add(dueIn: -1)
        _ = try await context.add(dueIn: 3600)

        let claimed = try await context.store.claimDue(limit: 1, lease: .seconds(30), window: Self.window)
        #expect(claimed.map(\.deliveryID) == [first])
        let delivery = try #require(claimed.first)
        #expect(delivery.url == "https://hooks.example.com/in")
        #expect(delivery.sealedSecret == [0x01, 0x02, 0xff])
        #expect(delivery.teamID == context.team)
        #expect(delivery.event == "job.completed")
        #expect(delivery.attempts == 0)
        // jsonb's own rendering: the same text on every attempt.
        #expect(delivery.payload == #"{"data": {"n": 1, "text": "é"}, "type": "job.completed"}"#)
        let dueIn: Int = try await context.row(first).decode("due_in_ms")
        #expect(dueIn > 25_000 && dueIn <= 30_000)

        #expect(try await context.store.claimDue(limit: 10, lease: .seconds(30), window: Self.window).map(\.deliveryID) == [second])
        #expect(try await context.store.claimDue(limit: 10, lease: .seconds(30), window: Self.window).isEmpty)
    }

    @Test("a lease that ran out (a sender killed mid-send) lets the row be claimed again")
    func leaseRunsOut() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let id = try await context.add()
        #expect(try await context.store.claimDue(limit: 10, lease: .milliseconds(200), window: Self.window).map(\.deliveryID) == [id])
        #expect(try await context.store.claimDue(limit: 10, lease: .milliseconds(200), window: Self.window).isEmpty)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await context.store.claimDue(limit: 10, lease: .seconds(30), window: Self.window).map(\.deliveryID) == [id])
    }

    @Test("concurrent claims never return the same row")
    func concurrentClaims() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        var ids: Set<UUID> = []
        for _ in 0..<40 { ids.insert(try await context.add()) }
        let store = context.store
        let claimed = try await withThrowingTaskGroup(of: [UUID].self) { group in
            for _ in 0..<4 { group.addTask { try await store.claimDue(limit: 15, lease: .seconds(30), window: Self.window).map(\.deliveryID) } }
            var all: [UUID] = []
            for try await part in group { all += part }
            return all
        }
        #expect(claimed.count == Set(claimed).count)
        #expect(Set(claimed).isSubset(of: ids))
        let rest = try await store.claimDue(limit: 100, lease: .seconds(30), window: Self.window).map(\.deliveryID)
        #expect(Set(claimed + rest) == ids)
    }

    @Test("a due delivery whose team removed its endpoint fails at once instead of being claimed")
    func endpointGone() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let id = try await context.add()
        try await context.postgres.query("DELETE FROM webhook_endpoints WHERE team_id = $1", [.text(context.team)])
        #expect(try await context.store.claimDue(limit: 10, lease: .seconds(30), window: Self.window).isEmpty)
        let row = try await context.row(id)
        #expect(try row.decode("status", as: String.self) == "failed")
        #expect(try row.decode("attempts", as: Int.self) == 0)
    }

    @Test("outcomes are recorded in one statement: delivered, retried after its delay, failed for good")
    func record() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let delivered = try await context.add()
        let retried = try await context.add()
        let failed = try await context.add()
        let claimed = try await context.store.claimDue(limit: 10, lease: .seconds(30), window: Self.window)
        let token = Dictionary(uniqueKeysWithValues: claimed.map { ($0.deliveryID, $0.claimToken) })
        #expect(Set(token.values).count == 3)
        let long = String(repeating: "é", count: 600) + "\u{0}"
        try await context.store.record([
            DeliveryOutcome(deliveryID: delivered, claimToken: token[delivered]!, result: .delivered(statusCode: 204)),
            DeliveryOutcome(
                deliveryID: retried,
                claimToken: token[retried]!,
                result: .retry(delay: .seconds(60), statusCode: 503, error: "bad\u{0}gateway")
            ),
            DeliveryOutcome(deliveryID: failed, claimToken: token[failed]!, result: .failed(statusCode: 1200, error: long)),
        ])

        let one = try await context.row(delivered)
        #expect(try one.decode("status", as: String.self) == "delivered")
        #expect(try one.decode("attempts", as: Int.self) == 1)
        #expect(try one.decode("last_status_code", as: Int.self) == 204)
        #expect(try one.decodeIfPresent("delivered_at", as: Date.self) != nil)

        let two = try await context.row(retried)
        #expect(try two.decode("status", as: String.self) == "pending")
        #expect(try two.decode("attempts", as: Int.self) == 1)
        #expect(try two.decode("last_status_code", as: Int.self) == 503)
        #expect(try two.decode("last_error", as: String.self) == "bad\u{FFFD}gateway")
        let dueIn: Int = try two.decode("due_in_ms")
        #expect(dueIn > 55_000 && dueIn <= 60_000)

        let three = try await context.row(failed)
        #expect(try three.decode("status", as: String.self) == "failed")
        #expect(try three.decodeIfPresent("last_status_code", as: Int.self) == nil)  // outside 100…999
        #expect(try three.decode("last_error", as: String.self) == String(repeating: "é", count: 500))

        // A late outcome for a row already delivered (another sender's, after a lease ran out)
        // changes nothing.
        try await context.store.record([
            DeliveryOutcome(deliveryID: delivered, claimToken: token[delivered]!, result: .retry(delay: .zero, statusCode: 500, error: "x"))
        ])
        let again = try await context.row(delivered)
        #expect(try again.decode("status", as: String.self) == "delivered")
        #expect(try again.decode("attempts", as: Int.self) == 1)
    }

    @Test("a late outcome from a claim whose lease ran out is ignored; the new claim's is recorded")
    func staleClaimIgnored() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let id = try await context.add()
        let first = try #require(try await context.store.claimDue(limit: 10, lease: .milliseconds(200), window: Self.window).first)
        try await Task.sleep(for: .milliseconds(300))
        let second = try #require(try await context.store.claimDue(limit: 10, lease: .seconds(30), window: Self.window).first)
        #expect(first.deliveryID == id && second.deliveryID == id)
        #expect(first.claimToken != second.claimToken)

        // The first sender's attempt ends after its lease: it would have failed the delivery for good.
        try await context.store.record([
            DeliveryOutcome(deliveryID: id, claimToken: first.claimToken, result: .failed(statusCode: 500, error: "late"))
        ])
        let untouched = try await context.row(id)
        #expect(try untouched.decode("status", as: String.self) == "pending")
        #expect(try untouched.decode("attempts", as: Int.self) == 0)
        #expect(try untouched.decodeIfPresent("last_error", as: String.self) == nil)

        try await context.store.record([
            DeliveryOutcome(deliveryID: id, claimToken: second.claimToken, result: .delivered(statusCode: 200))
        ])
        let recorded = try await context.row(id)
        #expect(try recorded.decode("status", as: String.self) == "delivered")
        #expect(try recorded.decode("attempts", as: Int.self) == 1)
        #expect(try recorded.decode("last_status_code", as: Int.self) == 200)
    }

    @Test("a due delivery older than the window is failed by the claim, not handed out")
    func windowPassed() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        let stale = try await context.add(age: 7200)
        let fresh = try await context.add(age: 60)
        let claimed = try await context.store.claimDue(limit: 10, lease: .seconds(30), window: .seconds(3600))
        #expect(claimed.map(\.deliveryID) == [fresh])
        let row = try await context.row(stale)
        #expect(try row.decode("status", as: String.self) == "failed")
        #expect(try row.decode("last_error", as: String.self) == "retry window passed")
        #expect(try row.decode("attempts", as: Int.self) == 0)
        #expect(try await context.store.claimDue(limit: 10, lease: .seconds(30), window: .seconds(3600)).isEmpty)
    }
}
