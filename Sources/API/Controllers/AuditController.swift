import Foundation
import Hummingbird
import Shared

/// `GET /api/admin/audit`: admin actions and aggregated failed authentications, newest first.
struct AuditController {
    let audit: any AuditStore

    struct EventResponse: Codable {
        var auditID: Int
        var actor: String
        var action: String
        var target: String?
        var outcome: String
        var details: JSONObject
        var count: Int
        var windowStart: Date?
        var createdAt: Date

        enum CodingKeys: String, CodingKey {
            case auditID = "audit_id"
            case actor, action, target, outcome, details, count
            case windowStart = "window_start"
            case createdAt = "created_at"
        }
    }

    struct ListResponse: ResponseEncodable {
        var events: [EventResponse]
        var nextCursor: Nullable<String>

        enum CodingKeys: String, CodingKey {
            case events
            case nextCursor = "next_cursor"
        }
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
                    auditID: $0.auditID,
                    actor: $0.actor,
                    action: $0.action,
                    target: $0.target,
                    outcome: $0.outcome,
                    details: $0.details,
                    count: $0.eventCount,
                    windowStart: $0.windowStart,
                    createdAt: $0.createdAt
                )
            },
            nextCursor: Nullable(page.nextCursor)
        )
    }
}
