import Foundation
import Hummingbird
import Logging
import Shared

/// The admin side of jobs and workers: any team's jobs, cancel and retry, the queue's depth, the
/// live workers, and draining one.
struct AdminJobController {
    let jobs: any JobStore
    let steps: any StepJobStore
    let queue: any JobQueue
    let registry: WorkerRegistry
    /// Counts what a cancel's transaction ended and charged, once it committed.
    var settlements = SettlementMetrics()

    struct AdminJobResponse: ResponseEncodable {
        var job: JobResponse
        var calls: [CallResponse]

        func encode(to encoder: any Encoder) throws {
            try job.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(calls, forKey: .calls)
        }

        enum Keys: String, CodingKey { case calls }
    }

    struct QueueResponse: ResponseEncodable {
        struct Team: Encodable {
            var teamID: String
            var queued: Int
            var scheduled: Int
            var inProgress: Int
            var oldestQueuedAgeSeconds: Double?

            enum CodingKeys: String, CodingKey {
                case teamID = "team_id"
                case queued, scheduled
                case inProgress = "in_progress"
                case oldestQueuedAgeSeconds = "oldest_queued_age_seconds"
            }
        }
        struct Totals: Encodable {
            var queued: Int
            var scheduled: Int
            var inProgress: Int
            var oldestQueuedAgeSeconds: Double?
            var liveWorkers: Int
            var workerCapacity: Int
            var workersInFlight: Int

            enum CodingKeys: String, CodingKey {
                case queued, scheduled
                case inProgress = "in_progress"
                case oldestQueuedAgeSeconds = "oldest_queued_age_seconds"
                case liveWorkers = "live_workers"
                case workerCapacity = "worker_capacity"
                case workersInFlight = "workers_in_flight"
            }
        }
        var teams: [Team]
        var totals: Totals
        /// Whether claiming is paused fleet-wide (`POST /api/admin/queue/pause`), and since when.
        var paused: Bool
        var pausedSince: Nullable<Date>

        enum CodingKeys: String, CodingKey {
            case teams, totals, paused
            case pausedSince = "paused_since"
        }
    }

    struct WorkerResponse: Encodable {
        var workerID: String
        var host: String
        var pid: Int
        var concurrency: Int
        var inFlight: Int
        var startedAt: Date
        var lastSeen: Date
        var draining: Bool

        enum CodingKeys: String, CodingKey {
            case workerID = "worker_id"
            case host, pid, concurrency
            case inFlight = "in_flight"
            case startedAt = "started_at"
            case lastSeen = "last_seen"
            case draining
        }
    }

    struct WorkersResponse: ResponseEncodable {
        var workers: [WorkerResponse]
    }

    struct DrainResponse: ResponseEncodable {
        var workerID: String
        var draining: Bool

        enum CodingKeys: String, CodingKey {
            case workerID = "worker_id"
            case draining
        }
    }

    func addRoutes(to admin: RouteTable<AppRequestContext>) {
        admin.get("/admin/jobs", use: list)
        admin.get("/admin/jobs/{job_id}", use: get)
        admin.post("/admin/jobs/{job_id}/cancel", use: cancel)
        admin.post("/admin/jobs/{job_id}/retry", use: retry)
        admin.get("/admin/queue", use: queueStats)
        admin.get("/admin/workers", use: workers)
        admin.post("/admin/workers/{worker_id}/drain", use: drain)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JobListResponse {
        let query = try ListQuery(request)
        let team = request.uri.queryParameters["team_id"].map(String.init)
        let page = try await jobs.list(teamID: team, status: try request.jobStatusFilter(), limit: query.limit, after: query.position)
        return JobListResponse(jobs: page.items.map { JobResponse(job: $0) }, nextCursor: Nullable(page.nextCursor))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> AdminJobResponse {
        let jobID = try context.jobID()
        guard let job = try await jobs.get(jobID) else { throw APIError.jobNotFound }
        return AdminJobResponse(job: JobResponse(job: job), calls: try await jobs.calls(jobID).map { CallResponse($0, admin: true) })
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> JobResponse {
        JobResponse(
            job: try await JobController.cancel(
                try context.jobID(),
                jobs: jobs,
                steps: steps,
                queue: queue,
                settlements: settlements,
                logger: context.logger
            )
        )
    }

    @Sendable func retry(_ request: Request, context: AppRequestContext) async throws -> JobResponse {
        let jobID = try context.jobID()
        let (job, queued) = try await jobs.retry(jobID)
        do {
            try await queue.enqueue([queued])
        } catch {
            context.logger.warning("enqueue after retry failed; the sweeper will enqueue it", metadata: ["error": "\(error)"])
        }
        return JobResponse(job: job)
    }

    /// The figures the queue gauges read (``JobStore/queueStats(census:)``): the Redis census
    /// plus each waiting team's oldest job, so this view and the autoscaler's agree and the cost
    /// stays flat as the backlog grows.
    @Sendable func queueStats(_ request: Request, context: AppRequestContext) async throws -> QueueResponse {
        async let stats = jobs.queueStats(census: queue)
        async let live = registry.live()
        async let pause = queue.pauseState()
        let (teams, workers, paused) = try await (stats, live, pause)
        let now = Date()
        let rows = teams.map {
            QueueResponse.Team(
                teamID: $0.teamID,
                queued: $0.queued,
                scheduled: $0.scheduled,
                inProgress: $0.inProgress,
                oldestQueuedAgeSeconds: $0.oldestQueuedAt.map { max(0, now.timeIntervalSince($0)) }
            )
        }
        return QueueResponse(
            teams: rows,
            totals: .init(
                queued: rows.reduce(0) { $0 + $1.queued },
                scheduled: rows.reduce(0) { $0 + $1.scheduled },
                inProgress: rows.reduce(0) { $0 + $1.inProgress },
                oldestQueuedAgeSeconds: rows.compactMap(\.oldestQueuedAgeSeconds).max(),
                liveWorkers: workers.count,
                workerCapacity: workers.reduce(0) { $0 + $1.concurrency },
                workersInFlight: workers.reduce(0) { $0 + $1.inFlight }
            ),
            paused: paused.paused,
            pausedSince: Nullable(paused.paused ? paused.since : nil)
        )
    }

    @Sendable func workers(_ request: Request, context: AppRequestContext) async throws -> WorkersResponse {
        WorkersResponse(
            workers: try await registry.live().map {
                WorkerResponse(
                    workerID: $0.workerID,
                    host: $0.host,
                    pid: $0.pid,
                    concurrency: $0.concurrency,
                    inFlight: $0.inFlight,
                    startedAt: $0.startedAt,
                    lastSeen: $0.lastSeen,
                    draining: $0.draining
                )
            }
        )
    }

    @Sendable func drain(_ request: Request, context: AppRequestContext) async throws -> DrainResponse {
        let id = try context.workerID()
        guard try await registry.requestDrain(id) else { throw APIError.workerNotFound(id) }
        return DrainResponse(workerID: id, draining: true)
    }
}
