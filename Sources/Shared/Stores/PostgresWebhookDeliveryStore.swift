public import Foundation
public import Postgres

/// ``WebhookDeliveryStore`` on `webhook_deliveries` and `webhook_endpoints`. Claiming is one
/// statement over the partial index `webhook_deliveries_due` (only pending rows, by due time), so
/// an idle sender's poll reads an index that holds nothing due; recording is one statement for
/// a whole batch of outcomes.
public struct PostgresWebhookDeliveryStore: WebhookDeliveryStore {
    /// `webhook_deliveries.last_error`'s limit (a CHECK).
    public static let maxErrorLength = 500

    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public func claimDue(limit: Int, lease: Duration, window: Duration) async throws -> [DueDelivery] {
        guard limit > 0 else { return [] }
        // `due` locks the rows (skipping other senders' locks); the three updates then take
        // disjoint parts of it: rows past the retry window fail, rows whose endpoint is gone fail,
        // the rest are leased under a fresh claim token and returned with their endpoint.
        let rows = try await postgres.query(
            """
            WITH due AS (
                SELECT delivery_id, created_at <= now() - $3::bigint * interval '1 millisecond' AS expired
                FROM webhook_deliveries
                WHERE status = 'pending' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT $1
                FOR UPDATE SKIP LOCKED
            ), expired AS (
                UPDATE webhook_deliveries d
                SET status = 'failed', last_error = 'retry window passed', updated_at = now()
                FROM due
                WHERE d.delivery_id = due.delivery_id AND due.expired
                RETURNING d.delivery_id
            ), orphaned AS (
                UPDATE webhook_deliveries d
                SET status = 'failed', last_error = 'the team has no webhook endpoint any more', updated_at = now()
                FROM due
                WHERE d.delivery_id = due.delivery_id AND NOT due.expired
                  AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.team_id = d.team_id)
                RETURNING d.delivery_id
            )
            UPDATE webhook_deliveries d
            SET next_attempt_at = now() + $2::bigint * interval '1 millisecond', claim_token = gen_random_uuid(),
                updated_at = now()
            FROM due, webhook_endpoints e
            WHERE d.delivery_id = due.delivery_id AND NOT due.expired AND e.team_id = d.team_id
            RETURNING d.delivery_id, d.claim_token, d.team_id, d.event, d.payload::text AS payload, d.attempts,
                (extract(epoch FROM now() - d.created_at) * 1000)::bigint AS age_ms,
                e.url, e.secret_encrypted
            """,
            [.int(limit), .int(max(1, lease.milliseconds)), .int(max(0, window.milliseconds))]
        )
        return try rows.map { row in
            DueDelivery(
                deliveryID: try row.decode("delivery_id"),
                claimToken: try row.decode("claim_token"),
                teamID: try row.decode("team_id"),
                event: try row.decode("event"),
                payload: try row.decode("payload"),
                attempts: try row.decode("attempts"),
                age: .milliseconds(max(0, try row.decode("age_ms", as: Int.self))),
                url: try row.decode("url"),
                sealedSecret: try row.decode("secret_encrypted", as: PostgresBytes.self).bytes
            )
        }
    }

    public func record(_ outcomes: [DeliveryOutcome]) async throws {
        guard !outcomes.isEmpty else { return }
        try await postgres.query(Self.recordStatement(outcomes))
    }

    /// The statement of ``record(_:)``: each delivery found by its id, still pending under the
    /// same claim. The status is tested inside `CASE` so that the planner cannot read the whole
    /// partial index of pending deliveries instead of the primary key — which it did when the
    /// statistics said none was pending (see ``PostgresJobStore``, "Jobs found by id").
    static func recordStatement(_ outcomes: [DeliveryOutcome]) -> PostgresStatement {
        var ids: [String?] = []
        var tokens: [String?] = []
        var statuses: [String?] = []
        var delays: [String?] = []
        var codes: [String?] = []
        var errors: [String?] = []
        for outcome in outcomes {
            ids.append(outcome.deliveryID.lowercasedString)
            tokens.append(outcome.claimToken.lowercasedString)
            let code: Int?
            let error: String?
            switch outcome.result {
            case .delivered(let statusCode):
                statuses.append("delivered")
                delays.append(nil)
                (code, error) = (statusCode, nil)
            case .retry(let delay, let statusCode, let text):
                statuses.append("pending")
                delays.append(String(max(0, delay.milliseconds)))
                (code, error) = (statusCode, text)
            case .failed(let statusCode, let text):
                statuses.append("failed")
                delays.append(nil)
                (code, error) = (statusCode, text)
            }
            codes.append(code.flatMap { (100...999).contains($0) ? String($0) : nil })
            errors.append(error.map(Self.storable))
        }
        return PostgresStatement(
            """
            UPDATE webhook_deliveries d
            SET status = o.status,
                attempts = d.attempts + 1,
                delivered_at = CASE WHEN o.status = 'delivered' THEN now() END,
                next_attempt_at = CASE WHEN o.status = 'pending' THEN now() + o.delay_ms * interval '1 millisecond'
                                       ELSE d.next_attempt_at END,
                last_status_code = o.code,
                last_error = o.error,
                updated_at = now()
            FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::int[], $6::text[])
                AS o(delivery_id, claim_token, status, delay_ms, code, error)
            WHERE d.delivery_id = o.delivery_id AND d.claim_token = o.claim_token
              AND CASE WHEN d.status = 'pending' THEN true ELSE false END
            """,
            [.textArray(ids), .textArray(tokens), .textArray(statuses), .textArray(delays), .textArray(codes), .textArray(errors)]
        )
    }

    /// An error text as the column holds it: U+0000 (which `text` refuses) as U+FFFD, cut to
    /// ``maxErrorLength`` characters (PostgreSQL counts code points).
    static func storable(_ error: String) -> String {
        let scalars = error.storable.unicodeScalars
        guard scalars.count > maxErrorLength else { return error.storable }
        return String(String.UnicodeScalarView(scalars.prefix(maxErrorLength)))
    }
}
