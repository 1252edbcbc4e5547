import Foundation
import Hummingbird
import Shared

/// `/admin/audit`: admin actions (the API's and this dashboard's) and aggregated failed
/// authentications, newest first, a page at a time (``AuditController``'s list).
struct DashboardAuditController {
    let gate: DashboardGate
    let templates: DashboardTemplates
    let auditAPI: AuditController

    struct Row {
        var when: String
        var actor: String
        var action: String
        var target: String
        var outcome: String
        var failed: Bool
        var count: String
    }

    struct View {
        var events: [Row]
        var next: String?
    }

    func addRoutes(to dashboard: RouteTable<AppRequestContext>) {
        dashboard.get("/audit", use: gate.page(list))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext, session: DashboardSession) async throws -> Response {
        let page = try await auditAPI.list(request, context: context)
        let view = View(
            events: page.events.map {
                Row(
                    when: DashboardFormat.time($0.createdAt),
                    actor: $0.actor,
                    action: $0.action,
                    target: DashboardFormat.text($0.target),
                    outcome: $0.outcome,
                    failed: !$0.outcome.hasPrefix("success"),
                    count: DashboardFormat.number($0.count)
                )
            },
            next: page.nextCursor.value.map { DashboardPath.query("/admin/audit", [("cursor", $0)]) }
        )
        return templates.page("audit", DashboardPage(.audit, title: "Audit log", session: session, body: view))
    }
}
