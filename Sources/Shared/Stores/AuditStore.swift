public import Foundation
public import Postgres

/// One admin action or one aggregate of failed authentications.
public struct AuditEvent: Sendable, Hashable {
    public var auditID: Int
    /// Who: the admin key's fingerprint, or the source address for failed authentications.
    public var actor: String
    public var action: String
    public var target: String?
    public var outcome: String
    public var details: JSONObject
    public var eventCount: Int
    public var windowStart: Date?
    public var createdAt: Date
}

/// Failed authentications of one kind from one source in one minute.
public struct FailedAuthenticationCount: Sendable, Hashable {
    public var source: String
    public var kind: String
    public var windowStart: Date
    public var count: Int

    public init(source: String, kind: String, windowStart: Date, count: Int) {
        self.source = source
        self.kind = kind
        self.windowStart = windowStart
        self.count = count
    }
}

/// The audit log.
public protocol AuditStore: Sendable {
    func record(actor: String, action: String, target: String?, outcome: String, details: JSONObject) async throws
    /// Adds counts to their (source, kind, minute) rows in one statement.
    func recordFailedAuthentications(_ counts: [FailedAuthenticationCount]) async throws
    func list(limit: Int, after cursor: String?) async throws -> Page<AuditEvent>
}

public struct PostgresAuditStore: AuditStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public func record(actor: String, action: String, target: String?, outcome: String, details: JSONObject) async throws {
        try await postgres.query(
            "INSERT INTO audit_log (actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5)",
            [.text(actor), .text(action), PostgresBind(target), .text(outcome), .json(details.jsonText())]
        )
    }

    public func recordFailedAuthentications(_ counts: [FailedAuthenticationCount]) async throws {
        guard !counts.isEmpty else { return }
        try await postgres.query(
            """
            INSERT INTO audit_log (actor, action, outcome, event_count, window_start)
            SELECT source, kind, 'denied', n, window_start
            FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[]) AS c(source, kind, window_start, n)
            ON CONFLICT (action, actor, window_start) WHERE window_start IS NOT NULL
            DO UPDATE SET event_count = audit_log.event_count + EXCLUDED.event_count, created_at = now()
            """,
            [
                .textArray(counts.map(\.source)), .textArray(counts.map(\.kind)),
                .textArray(counts.map { PostgresTimestamp.format($0.windowStart) }), .textArray(counts.map { String($0.count) }),
            ]
        )
    }

    public func list(limit: Int, after cursor: String?) async throws -> Page<AuditEvent> {
        let rows = try await postgres.query(
            """
            SELECT audit_id, actor, action, target, outcome, details, event_count, window_start, created_at
            FROM audit_log WHERE $1::bigint IS NULL OR audit_id < $1
            ORDER BY audit_id DESC LIMIT $2
            """,
            [PostgresBind(cursor.flatMap { Int($0) }), .int(limit + 1)]
        )
        var events = try rows.map { row in
            AuditEvent(
                auditID: try row.decode("audit_id"),
                actor: try row.decode("actor"),
                action: try row.decode("action"),
                target: try row.decodeIfPresent("target"),
                outcome: try row.decode("outcome"),
                details: .fromJSON(try row.decodeIfPresent("details")),
                eventCount: try row.decode("event_count"),
                windowStart: try row.decodeIfPresent("window_start"),
                createdAt: try row.decode("created_at")
            )
        }
        var next: String?
        if events.count > limit {
            events.removeLast()
            next = events.last.map { Cursor.encode(String($0.auditID)) }
        }
        return Page(items: events, nextCursor: next)
    }
}
