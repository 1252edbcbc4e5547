import Foundation
import Postgres

/// How long the delivery log keeps what it no longer needs: a delivery that ended (delivered, or
/// failed after its retry window) is forgotten after a while, so `webhook_deliveries` holds the
/// pending queue and a recent log, not every event ever sent.
public protocol WebhookLogRetention: Sendable {
    /// Forgets up to `limit` ended deliveries older than `age`; returns how many.
    func forgetEndedDeliveries(olderThan age: Duration, limit: Int) async throws -> Int
}

extension PostgresWebhookStore: WebhookLogRetention {
    public func forgetEndedDeliveries(olderThan age: Duration, limit: Int) async throws -> Int {
        try await postgres.query(
            """
            DELETE FROM webhook_deliveries WHERE delivery_id IN (
                SELECT delivery_id FROM webhook_deliveries
                WHERE status <> 'pending' AND created_at < now() - make_interval(secs => $1)
                LIMIT $2
            )
            """,
            [.double(Double(age.components.seconds)), .int(limit)]
        ).affectedRows
    }
}
