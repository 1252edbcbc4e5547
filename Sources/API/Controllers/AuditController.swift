import Foundation
import Hummingbird
import Shared

/// `GET /api/admin/audit`: admin actions and aggregated failed authentications, newest first.
struct AuditController {
    let audit: any AuditStore

    struct EventResponse: Codable {
        var audit_id: Int
        var actor: String
        var action: String
        var target: String?
        var outcome: String
        var details: JSONObject
        var count: Int
        var window_start: Date?
        var created_at: Date
    }

    struct ListResponse: ResponseEncodable {
        var events: [EventResponse]
        var next_cursor: Nullable<String>
    }

    func addRoutes(to admin: RouteTable<AppRequestContext>) {
        admin.get("/admin/audit", use: list)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ListResponse {
        let query = try ListQuery(request)
        let page = try await audit.list(limit: query.limit, after: query.position)
        return ListResponse(
            events: page.items.map {
                EventResponse(
                    audit_id: $0.auditID, actor: $0.actor, action: $0.action, target: $0.target, outcome: $0.outcome,
                    details: $0.details, count: $0.eventCount, window_start: $0.windowStart, created_at: $0.createdAt
                )
            },
            next_cursor: Nullable(page.nextCursor)
        )
    }
}
