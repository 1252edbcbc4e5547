import Foundation
import Hummingbird
import Shared

/// Runtime control (API.md "Operations"): pausing and resuming every claim, fleet-wide, and
/// changing one worker's concurrency without a restart. The decisions are ``FleetControl``'s;
/// this is their JSON. Admin mutations, so the audit middleware records each.
struct FleetController {
    let control: FleetControl

    /// `{"paused": …, "since": …, "changed": …}`: the state after the call, when it last
    /// changed (null: never), and whether this call changed it.
    struct PauseResponse: ResponseEncodable {
        var paused: Bool
        var since: Nullable<Date>
        var changed: Bool

        init(_ pause: QueuePause) {
            paused = pause.paused
            since = Nullable(pause.since)
            changed = pause.changed
        }
    }

    struct ConcurrencyBody: Decodable {
        var concurrency: Int
    }

    func addRoutes(to admin: RouteTable<AppRequestContext>) {
        admin.post("/admin/queue/pause", use: pause)
        admin.post("/admin/queue/resume", use: resume)
        admin.put("/admin/workers/{worker_id}/concurrency", use: setConcurrency)
    }

    @Sendable func pause(_ request: Request, context: AppRequestContext) async throws -> PauseResponse {
        PauseResponse(try await control.pause())
    }

    @Sendable func resume(_ request: Request, context: AppRequestContext) async throws -> PauseResponse {
        PauseResponse(try await control.resume())
    }

    /// The worker as `GET /api/admin/workers` shows it, with the concurrency asked for.
    @Sendable func setConcurrency(_ request: Request, context: AppRequestContext) async throws -> AdminJobController.WorkerResponse {
        let id = try context.workerID()
        let body = try await request.decode(as: ConcurrencyBody.self, context: context)
        return AdminJobController.WorkerResponse(try await control.setConcurrency(id, to: body.concurrency))
    }
}

extension AdminJobController.WorkerResponse: ResponseEncodable {
    init(_ info: WorkerInfo) {
        self.init(
            workerID: info.workerID,
            host: info.host,
            pid: info.pid,
            concurrency: info.concurrency,
            inFlight: info.inFlight,
            startedAt: info.startedAt,
            lastSeen: info.lastSeen,
            draining: info.draining
        )
    }
}
