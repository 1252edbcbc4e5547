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
        let jobID = try context.jobID()
        guard let job = try await jobs.get(jobID) else { throw APIError.jobNotFound }
        guard job.teamID == identity.teamID else { throw APIError.jobOfAnotherTeam }
        return try feed.response(job: job, teamID: identity.teamID, lastEventID: request.lastEventID)
    }
}
