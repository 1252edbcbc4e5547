import Foundation
import Hummingbird
import Shared

/// `GET /admin`: the queue by team with its oldest job's age, jobs/s over the last ten minutes,
/// the workers' slots and the providers' circuits — the same numbers as `GET /api/admin/queue`,
/// `/api/admin/workers` and `/api/providers`, read through their controllers.
struct DashboardOverviewController {
    let gate: DashboardGate
    let templates: DashboardTemplates
    let adminJobs: AdminJobController
    let providers: ProviderController
    let throughput: DashboardThroughput

    struct View {
        struct Totals {
            var queued: String
            var scheduled: String
            var inProgress: String
            var oldest: String
            var workers: String
            var busy: String
            var free: String
        }

        struct TeamRow {
            var teamID: String
            var href: String
            var queued: String
            var scheduled: String
            var inProgress: String
            var oldest: String
        }

        var totals: Totals
        var teams: [TeamRow]
        var chart: ThroughputChart
        var workers: [DashboardWorkersController.Row]
        var providers: [DashboardProvidersController.Row]
    }

    func addRoutes(to dashboard: RouteTable<AppRequestContext>) {
        dashboard.get("", use: gate.page(show))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext, session: DashboardSession) async throws -> Response {
        async let queue = adminJobs.queueStats(request, context: context)
        async let workers = adminJobs.registry.live()
        async let providerList = providers.list(request, context: context)
        async let reading = throughput.read()
        let (stats, live, listed, counts) = try await (queue, workers, providerList, reading)
        let busy = live.reduce(0) { $0 + min($1.inFlight, $1.concurrency) }
        let capacity = live.reduce(0) { $0 + $1.concurrency }
        let view = View(
            totals: .init(
                queued: DashboardFormat.number(stats.totals.queued),
                scheduled: DashboardFormat.number(stats.totals.scheduled),
                inProgress: DashboardFormat.number(stats.totals.inProgress),
                oldest: stats.totals.oldestQueuedAgeSeconds.map { DashboardFormat.ago(seconds: $0) } ?? DashboardFormat.none,
                workers: DashboardFormat.number(live.count),
                busy: DashboardFormat.number(busy),
                free: DashboardFormat.number(max(0, capacity - busy))
            ),
            teams: stats.teams.sorted { ($0.queued, $0.inProgress) > ($1.queued, $1.inProgress) }.prefix(100).map {
                View.TeamRow(
                    teamID: $0.teamID,
                    href: DashboardPath.team($0.teamID),
                    queued: DashboardFormat.number($0.queued),
                    scheduled: DashboardFormat.number($0.scheduled),
                    inProgress: DashboardFormat.number($0.inProgress),
                    oldest: $0.oldestQueuedAgeSeconds.map { DashboardFormat.ago(seconds: $0) } ?? DashboardFormat.none
                )
            },
            chart: ThroughputChart(counts),
            workers: live.map { DashboardWorkersController.Row($0) },
            providers: listed.providers.map { DashboardProvidersController.Row($0) }
        )
        let page = DashboardPage(.overview, title: "Overview", session: session, refreshSeconds: 10, body: view)
        return templates.page("overview", page)
    }
}

/// Links to the dashboard's pages, with the path parts percent-encoded.
enum DashboardPath {
    static func team(_ id: String) -> String { "/admin/teams/\(segment(id))" }
    static func job(_ id: UUID) -> String { "/admin/jobs/\(id.uuidString.lowercased())" }
    static func worker(_ id: String) -> String { "/admin/workers/\(segment(id))" }

    static func segment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? value
    }

    /// `path?name=value&…` with each value encoded, the empty ones left out.
    static func query(_ path: String, _ items: [(String, String?)]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        let parts = items.compactMap { name, value -> String? in
            guard let value, !value.isEmpty else { return nil }
            return "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }
        return parts.isEmpty ? path : "\(path)?\(parts.joined(separator: "&"))"
    }
}
