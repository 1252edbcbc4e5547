import Foundation
import Hummingbird
import Shared

/// `GET /api/jobs/{job_id}/events`: the job's status changes as server-sent events
/// (``JobEventFeed``), for the job's own team; each open stream counts against `STREAMS_PER_TEAM`.
struct JobEventsController {
    let jobs: any JobStore
    let feed: JobEventFeed

    func addRoutes(team: RouteTable<AppRequestContext>) {
        team.get("/jobs/{job_id}/events", use: events)
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireTeam()
        let job = try await request.teamJob(jobs, context: context)
        return try feed.response(job: job, teamID: identity.teamID, lastEventID: request.lastEventID)
    }
}
