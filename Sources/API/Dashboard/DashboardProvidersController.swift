import Foundation
import Hummingbird
import Shared

/// `/admin/providers`: every provider with its circuit as the workers report it and its last
/// error (redacted upstream text: shown escaped), as `GET /api/providers` answers.
struct DashboardProvidersController {
    let gate: DashboardGate
    let templates: DashboardTemplates
    let providers: ProviderController

    struct Row {
        var name: String
        var kind: String
        var baseURL: String
        var limits: String
        var state: String
        /// The CSS class of the state: `ok`, `warn` or `bad`.
        var stateClass: String
        var openUntil: String
        var lastError: String
        var lastErrorAt: String

        init(_ provider: ProviderController.ProviderResponse) {
            name = provider.name
            kind = provider.kind
            baseURL = provider.baseURL
            let rpm = provider.rpm.map { "\(DashboardFormat.number($0)) rpm" }
            let tpm = provider.tpm.map { "\(DashboardFormat.number($0)) tpm" }
            limits = [rpm, tpm].compactMap { $0 }.joined(separator: ", ")
            if limits.isEmpty { limits = "no limit" }
            state = provider.health.circuitState.replacingOccurrences(of: "_", with: " ")
            stateClass = provider.health.circuitState == "closed" ? "ok" : provider.health.circuitState == "open" ? "bad" : "warn"
            openUntil = DashboardFormat.time(provider.health.openUntil)
            var error = provider.health.lastError ?? ""
            if let status = provider.health.lastErrorStatus { error = "HTTP \(status): \(error)" }
            lastError = DashboardFormat.text(String(error.prefix(300)))
            lastErrorAt = DashboardFormat.time(provider.health.lastErrorAt)
        }
    }

    struct View {
        var providers: [Row]
    }

    func addRoutes(to dashboard: RouteTable<AppRequestContext>) {
        dashboard.get("/providers", use: gate.page(list))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext, session: DashboardSession) async throws -> Response {
        let listed = try await providers.list(request, context: context)
        let page = DashboardPage(.providers, title: "Providers", session: session, body: View(providers: listed.providers.map(Row.init)))
        return templates.page("providers", page)
    }
}
