public import Foundation
public import Postgres
import UUIDText

/// ``WebhookStore`` on `webhook_endpoints` and `webhook_deliveries` (migration 0009).
public struct PostgresWebhookStore: WebhookStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    static let endpointColumns = "team_id, url, to_json(events)::text AS events, created_at, updated_at"

    public func put(teamID: String, url: String, events: [WebhookEvent], sealedSecret: [UInt8]) async throws -> WebhookEndpoint {
        do {
            let rows = try await postgres.query(
                """
                INSERT INTO webhook_endpoints (team_id, url, events, secret_encrypted) VALUES ($1, $2, $3::text[], $4)
                ON CONFLICT (team_id) DO UPDATE SET
                    url = EXCLUDED.url, events = EXCLUDED.events, secret_encrypted = EXCLUDED.secret_encrypted, updated_at = now()
                RETURNING \(Self.endpointColumns)
                """,
                [.text(teamID), .text(url), .textArray(events.map(\.rawValue)), .bytea(sealedSecret)]
            )
            return try Self.decodeEndpoint(rows.first!)
        } catch let error as PostgresError where error.sqlState == PostgresError.Code.foreignKeyViolation {
            throw DomainError.teamNotFound(teamID)
        }
    }

    public func get(teamID: String) async throws -> WebhookEndpoint? {
        try await postgres.query("SELECT \(Self.endpointColumns) FROM webhook_endpoints WHERE team_id = $1", [.text(teamID)])
            .first.map(Self.decodeEndpoint)
    }

    public func delete(teamID: String) async throws -> Bool {
        try await postgres.query("DELETE FROM webhook_endpoints WHERE team_id = $1", [.text(teamID)]).affectedRows == 1
    }

    public func deliveries(teamID: String, limit: Int, after cursor: String?) async throws -> Page<WebhookDeliveryRecord> {
        // The cursor is "<created_at>|<delivery_id>" of the last delivery served: newest first,
        // ties by id, as the `webhook_deliveries_team` index orders them. One not made here
        // starts from the top, as the other lists do.
        var createdBefore: Date?
        var idBefore: UUID?
        if let cursor {
            let parts = cursor.split(separator: "|", maxSplits: 1).map(String.init)
            if parts.count == 2, let date = Date(postgresText: parts[0]), let id = UUIDText.parse(parts[1]) {
                createdBefore = date
                idBefore = id
            }
        }
        let rows = try await postgres.query(
            """
            SELECT delivery_id, event, job_id, status, attempts, last_status_code, last_error, delivered_at, created_at,
                   next_attempt_at
            FROM webhook_deliveries
            WHERE team_id = $1 AND ($2::timestamptz IS NULL OR (created_at, delivery_id) < ($2, $3::uuid))
            ORDER BY created_at DESC, delivery_id DESC LIMIT $4
            """,
            [.text(teamID), PostgresBind(createdBefore), PostgresBind(idBefore), .int(limit + 1)]
        )
        var deliveries = try rows.map(Self.decodeDelivery)
        var next: String?
        if deliveries.count > limit {
            deliveries.removeLast()
            if let last = deliveries.last {
                next = Cursor.encode("\(PostgresTimestamp.format(last.createdAt))|\(last.deliveryID.lowercasedString)")
            }
        }
        return Page(items: deliveries, nextCursor: next)
    }

    static func decodeEndpoint(_ row: PostgresRow) throws -> WebhookEndpoint {
        let names = try JSONDecoder().decode([String].self, from: Data(try row.decode("events", as: String.self).utf8))
        return WebhookEndpoint(
            teamID: try row.decode("team_id"),
            url: try row.decode("url"),
            events: names.compactMap(WebhookEvent.init(rawValue:)),
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at")
        )
    }

    static func decodeDelivery(_ row: PostgresRow) throws -> WebhookDeliveryRecord {
        let status = WebhookDeliveryRecord.Status(rawValue: try row.decode("status")) ?? .pending
        return WebhookDeliveryRecord(
            deliveryID: try row.decode("delivery_id"),
            event: try row.decode("event"),
            jobID: try row.decodeIfPresent("job_id"),
            status: status,
            attempts: try row.decode("attempts"),
            lastStatusCode: try row.decodeIfPresent("last_status_code"),
            lastError: try row.decodeIfPresent("last_error"),
            deliveredAt: try row.decodeIfPresent("delivered_at"),
            createdAt: try row.decode("created_at"),
            nextAttemptAt: status == .pending ? try row.decode("next_attempt_at") : nil
        )
    }
}
