import Foundation
import Hummingbird
import Shared
import Synchronization

/// `POST /api/jobs/create-and-call`: the original system's single call — a submit that waits for
/// its job and answers in the original's shape (`response`, `metadata`, `costs`). The job is an
/// ordinary one, run by the workers; unlike the original, a team without credits gets a 402 and
/// no upstream call.
struct SingleCallController {
    let jobs: any JobStore
    let steps: any StepJobStore
    let submitter: JobController
    let waiters: CompletionWaiters
    let feed: CallEventFeed

    func addRoutes(team: RouteTable<AppRequestContext>) {
        team.post("/jobs/create-and-call", use: createAndCall)
        team.post("/jobs/create-and-call-stream", use: createAndCallStream)
        team.get("/jobs/{job_id}/stream", use: jobStream)
    }

    /// create-and-call as server-sent events: the job's deltas, then `event: done` with what
    /// create-and-call answers (response, usage, costs) or `event: error`. A reconnect sends the
    /// same request with its `Idempotency-Key` (the submit replays: the same job) and
    /// `Last-Event-ID`; or reads `GET /api/jobs/{job_id}/stream` (the job id is in the `X-Job-Id`
    /// header). The stream's slot is taken before the submit: a 429 for too many streams
    /// submits nothing.
    @Sendable func createAndCallStream(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireTeam()
        try await submitter.limiter.admit(identity.teamID)
        let jobID = UUID.random()
        var events = try events(jobID, teamID: identity.teamID, request)
        let submitted = try await submit(request, context: context, jobID: jobID, stream: true)
        if submitted != jobID {
            // A replay under the same Idempotency-Key: the first submit's job and stream.
            events = try self.events(submitted, teamID: identity.teamID, request)
        }
        return Self.answer(events, jobID: submitted, keepAlive: feed.keepAlive)
    }

    @Sendable func jobStream(_ request: Request, context: AppRequestContext) async throws -> Response {
        let job = try await request.teamJob(jobs, context: context)
        guard job.modelGroup != nil else { throw APIError.notStepByStepJobStream }
        return Self.answer(try events(job.jobID, teamID: job.teamID, request), jobID: job.jobID, keepAlive: feed.keepAlive)
    }

    /// The job's deltas, then its final event; opening them takes the stream's slot (or throws
    /// its 429).
    private func events(_ jobID: UUID, teamID: String, _ request: Request) throws -> CallEvents {
        try feed.events(streamID: jobID, teamID: teamID, lastEventID: request.lastEventID) { [jobs, steps] in
            guard let settled = try await jobs.get(jobID), settled.status.isTerminal else { return nil }
            guard settled.status == .completed else {
                return try .callFailed(settled.errorCode)
            }
            let calls = try await jobs.calls(settled.jobID)
            let costs = try await steps.costs(of: settled, calls: calls)
            return try ServerSentEvent(event: "done", json: SingleCallResponse(job: settled, answered: calls.last { $0.billed }, costs: costs))
        }
    }

    private static func answer(_ events: CallEvents, jobID: UUID, keepAlive: Duration) -> Response {
        var response = SSEResponse.response(events, keepAlive: keepAlive)
        response.headers[.jobID] = jobID.lowercasedString
        return response
    }

    @Sendable func createAndCall(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireTeam()
        try await submitter.limiter.admit(identity.teamID)
        let wait = try request.waitSeconds(default: 120)
        let jobID = try await submit(request, context: context, jobID: UUID.random(), stream: false)
        let settled = try await settledJob(jobID, teamID: identity.teamID, wait: wait, connection: context.connection)
        guard settled.status.isTerminal else {
            var response = try JobResponse(job: settled).response(from: request, context: context)
            response.status = .accepted
            return response
        }
        let calls = try await jobs.calls(settled.jobID)
        let costs = try await steps.costs(of: settled, calls: calls)
        return try SingleCallResponse(job: settled, answered: calls.last { $0.billed }, costs: costs).response(from: request, context: context)
    }

    /// Validates a create-and-call body (submit's, with `model` and `messages`), submits it and
    /// returns its job's id (an earlier job's, for a replay of its Idempotency-Key).
    func submit(_ request: Request, context: AppRequestContext, jobID: UUID, stream: Bool) async throws -> UUID {
        let identity = try context.requireTeam()
        let body = try await request.decode(as: SubmitRequest.self, context: context)
        guard body.document == nil else { throw APIError.createAndCallNeedsMessages }
        guard var work = try body.validated() else {
            throw body.model == nil ? APIError.modelMissing : APIError.createAndCallNeedsMessages
        }
        guard body.teamID == identity.teamID else { throw APIError.keyNotForTeam(body.teamID) }
        if stream { work.stream = true }
        switch try await submitter.submit(body, work: work, teamID: identity.teamID, request: request, jobID: jobID) {
        case .created(let id, _, _, _), .replayed(let id, _, _, _, _): return id
        case .refused(let reason): throw reason
        }
    }

    /// The job once it ended or `wait` ran out. The wait's first look at the job is kept: a job
    /// that ended already (a replay, a fast worker) is read once, not twice.
    func settledJob(_ jobID: UUID, teamID: String, wait: Double, connection: ObjectIdentifier) async throws -> Job {
        let seen = Mutex<Job?>(nil)
        if wait > 0 {
            do {
                try await waiters.wait(for: jobID, teamID: teamID, timeout: .milliseconds(Int64(wait * 1000)), connection: connection) {
                    let job = try await jobs.get(jobID)
                    seen.withLock { $0 = job }
                    return job?.status.isTerminal ?? true
                }
            } catch is LongPollRefused {}
        }
        if let job = seen.withLock({ $0 }), job.status.isTerminal { return job }
        guard let job = try await jobs.get(jobID) else { throw APIError.jobNotFound }
        return job
    }
}

/// create-and-call's answer once its job ended: the original's shape, with `error` when it failed.
struct SingleCallResponse: ResponseEncodable {
    var job: Job
    /// The upstream call that answered (billed), for the latency and the model used.
    var answered: JobCall?
    var costs: JobCosts

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case status, response, metadata, costs, error
        case completedAt = "completed_at"
        case jobMetadata = "job_metadata"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(job.jobID.lowercasedString, forKey: .jobID)
        try c.encode(job.status.rawValue, forKey: .status)
        try c.encode(job.completedAt, forKey: .completedAt)
        try c.encode(job.metadata, forKey: .jobMetadata)
        try c.encode(CostsBody(costs: costs, withBreakdown: false), forKey: .costs)
        if job.status == .completed {
            try c.encode(job.result, forKey: .response)
            try c.encode(
                CallMetadata(usage: job.usage ?? .zero, latencyMS: answered?.latencyMS ?? 0, model: job.modelGroup, modelUsed: answered?.model),
                forKey: .metadata
            )
        } else {
            let code = job.errorCode ?? .upstreamError
            try c.encode(JobResponse.ErrorBody(code: code.rawValue, message: job.errorMessage ?? code.rawValue), forKey: .error)
        }
    }
}
