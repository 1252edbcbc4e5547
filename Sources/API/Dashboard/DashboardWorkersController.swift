import Foundation
import Hummingbird
import Shared

/// `/admin/workers`: the live workers from their heartbeats (``WorkerRegistry``); draining one
/// through `AdminJobController`'s drain (the API's `POST /api/admin/workers/{id}/drain`), a
/// worker's concurrency and the fleet-wide pause of claiming through ``FleetControl`` (the same
/// decisions as `PUT /api/admin/workers/{id}/concurrency` and `POST /api/admin/queue/pause`).
struct DashboardWorkersController {
    let gate: DashboardGate
    let templates: DashboardTemplates
    let adminJobs: AdminJobController
    let fleet: FleetControl

    struct Row {
        var workerID: String
        var host: String
        var pid: String
        var busy: String
        var free: String
        var concurrency: String
        var draining: Bool
        var started: String
        var lastSeen: String
        var drainAction: String
        var concurrencyAction: String
        /// The value the concurrency field starts with: the worker's current slots.
        var slots: Int

        init(_ worker: WorkerInfo, now: Date = Date()) {
            workerID = worker.workerID
            host = worker.host
            pid = String(worker.pid)
            busy = DashboardFormat.number(min(worker.inFlight, worker.concurrency))
            free = DashboardFormat.number(max(0, worker.concurrency - worker.inFlight))
            concurrency = DashboardFormat.number(worker.concurrency)
            draining = worker.draining
            started = DashboardFormat.time(worker.startedAt)
            lastSeen = "\(DashboardFormat.age(since: worker.lastSeen, now: now)) ago"
            drainAction = "\(DashboardPath.worker(worker.workerID))/drain"
            concurrencyAction = "\(DashboardPath.worker(worker.workerID))/concurrency"
            slots = worker.concurrency
        }
    }

    struct View {
        var workers: [Row]
        /// Claiming paused fleet-wide, and since when.
        var paused: Bool
        var pausedSince: String
    }

    func addRoutes(to dashboard: RouteTable<AppRequestContext>) {
        dashboard.get("/workers", use: gate.page(list))
        let back: @Sendable (AppRequestContext) -> String = { _ in "/admin/workers" }
        dashboard.post("/workers/{worker_id}/drain", use: gate.action(back: back, drain))
        dashboard.post("/workers/{worker_id}/concurrency", use: gate.action(back: back, setConcurrency))
        dashboard.post("/queue/pause", use: gate.action(back: back) { _, _ in try await pause(true) })
        dashboard.post("/queue/resume", use: gate.action(back: back) { _, _ in try await pause(false) })
    }

    @Sendable func list(_ request: Request, context: AppRequestContext, session: DashboardSession) async throws -> Response {
        async let live = adminJobs.registry.live()
        async let pause = fleet.pauseState()
        let (workers, state) = try await (live, pause)
        let view = View(
            workers: workers.sorted { $0.workerID < $1.workerID }.map { Row($0) },
            paused: state.paused,
            pausedSince: DashboardFormat.time(state.since)
        )
        return templates.page("workers", DashboardPage(.workers, title: "Workers", session: session, body: view))
    }

    @Sendable func setConcurrency(_ form: DashboardForm, context: AppRequestContext) async throws -> DashboardOutcome {
        let id = try context.workerID()
        guard let slots = Int(form.text("concurrency") ?? "") else { throw APIError.dashboardNotAWholeNumber("Concurrency") }
        let worker = try await fleet.setConcurrency(id, to: slots)
        return DashboardOutcome(flash: "Worker \(worker.workerID) now runs up to \(DashboardFormat.number(slots)) jobs at once.")
    }

    func pause(_ paused: Bool) async throws -> DashboardOutcome {
        let state = paused ? try await fleet.pause() : try await fleet.resume()
        let now = state.paused ? "Claiming is paused fleet-wide: jobs stay queued, running ones finish." : "Claiming runs again."
        return DashboardOutcome(flash: state.changed ? now : "Nothing changed. \(now)")
    }

    @Sendable func drain(_ form: DashboardForm, context: AppRequestContext) async throws -> DashboardOutcome {
        let answer = try await adminJobs.drain(Request.dashboardAction, context: context)
        return DashboardOutcome(flash: "Worker \(answer.workerID) is draining: it takes no new jobs and stops once its running jobs end.")
    }
}

extension Request {
    /// The request handed to an API controller's handler that reads nothing but the path
    /// parameters of its context (cancel, retry, drain): the dashboard's form body was read already.
    static var dashboardAction: Request {
        Request(head: .init(method: .post, scheme: nil, authority: nil, path: "/admin"), body: .init(buffer: .init()))
    }
}
