import Foundation
import Hummingbird
import Logging
import Shared
import UUIDText

/// The original system's step-by-step flow (API.md): `llm-call` queues one call on a job created
/// without work and waits for a worker to settle it, `complete` settles the job once, and the
/// calls, costs and metadata around them. The API never calls an upstream: a call is a job the
/// workers run, and the wait is a long poll on its completion.
struct StepJobController {
    let jobs: any JobStore
    let steps: any StepJobStore
    let queue: any JobQueue
    let access: ModelAccessCache
    let estimator: ReservationEstimator
    let waiters: CompletionWaiters
    let feed: CallEventFeed
    /// The team's submit limits: a call is a job of its own.
    let limiter: SubmitLimiter
    /// Counts what a `complete` settled (the job, once, and the credits charged) after it committed.
    var settlements = SettlementMetrics()

    func addRoutes(team: RouteTable<AppRequestContext>) {
        team.post("/jobs/{job_id}/llm-call", use: llmCall)
        team.get("/jobs/{job_id}/calls/{call_id}", use: getCall)
        team.post("/jobs/{job_id}/complete", use: complete)
        team.patch("/jobs/{job_id}/metadata", use: patchMetadata)
        team.get("/jobs/{job_id}/costs", use: costs)
        team.post("/jobs/{job_id}/llm-call-stream", use: llmCallStream)
        team.get("/jobs/{job_id}/calls/{call_id}/stream", use: callStream)
    }

    /// `llm-call` as server-sent events. A request carrying `Last-Event-ID` is a reconnect: it
    /// resumes the job's latest streaming call after that event instead of queuing another (the
    /// body is not read again; `GET …/calls/{call_id}/stream` resumes any call by its id). The
    /// stream's slot is taken before the call is queued: a 429 for too many streams queues nothing.
    @Sendable func llmCallStream(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireTeam()
        if request.lastEventID != nil {
            let job = try await request.teamJob(jobs, context: context)
            if let latest = try await steps.stepCalls(of: job.jobID).last(where: \.stream) {
                return try stream(latest.callID, of: job.jobID, teamID: identity.teamID, request)
            }
        }
        try await limiter.admit(identity.teamID)
        let callID = UUID.random()
        let jobID = try context.jobID()
        let events = try events(callID, of: jobID, teamID: identity.teamID, request)
        _ = try await queueCall(request, context: context, callID: callID, stream: true)
        return Self.answer(events, callID: callID, jobID: jobID, keepAlive: feed.keepAlive)
    }

    @Sendable func callStream(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireTeam()
        let job = try await request.teamJob(jobs, context: context)
        guard let callID = UUIDText.parse(try context.parameters.require("call_id")),
            try await steps.stepCall(callID, of: job.jobID) != nil
        else { throw APIError.callNotFound }
        return try stream(callID, of: job.jobID, teamID: identity.teamID, request)
    }

    private func stream(_ callID: UUID, of jobID: UUID, teamID: String, _ request: Request) throws -> Response {
        Self.answer(try events(callID, of: jobID, teamID: teamID, request), callID: callID, jobID: jobID, keepAlive: feed.keepAlive)
    }

    /// The call's deltas, then `event: done` with the call (its response, usage and costs) or
    /// `event: error` with the sentence `llm-call` would answer. Opening them takes the stream's
    /// slot (or throws its 429).
    private func events(_ callID: UUID, of jobID: UUID, teamID: String, _ request: Request) throws -> CallEvents {
        try feed.events(streamID: callID, teamID: teamID, lastEventID: request.lastEventID) { [steps] in
            guard let call = try await steps.stepCall(callID, of: jobID), call.status.isTerminal else { return nil }
            guard call.status == .completed else {
                return try .callFailed(call.errorCode)
            }
            return try ServerSentEvent(event: "done", json: StepCallResponse(call: call))
        }
    }

    private static func answer(_ events: CallEvents, callID: UUID, jobID: UUID, keepAlive: Duration) -> Response {
        var response = SSEResponse.response(events, keepAlive: keepAlive)
        response.headers[.callID] = callID.lowercasedString
        response.headers[.jobID] = jobID.lowercasedString
        return response
    }

    @Sendable func llmCall(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await limiter.admit(try context.requireTeam().teamID)
        let wait = try request.waitSeconds(default: 120)
        let call = try await queueCall(request, context: context, callID: UUID.random(), stream: false)
        return try StepCallResponse.answer(try await settledCall(call, wait: wait, context: context), request, context)
    }

    @Sendable func getCall(_ request: Request, context: AppRequestContext) async throws -> Response {
        let job = try await request.teamJob(jobs, context: context)
        guard let callID = UUIDText.parse(try context.parameters.require("call_id")),
            let call = try await steps.stepCall(callID, of: job.jobID)
        else { throw APIError.callNotFound }
        let wait = try request.waitSeconds(default: 0)
        return try StepCallResponse.answer(try await settledCall(call, wait: wait, context: context), request, context)
    }

    @Sendable func complete(_ request: Request, context: AppRequestContext) async throws -> CompletionResponse {
        let identity = try context.requireTeam()
        let body = try await request.decode(as: CompleteRequest.self, context: context)
        let ending = try body.validated()
        let job = try await request.teamJob(jobs, context: context)
        let completion = try await steps.complete(
            job.jobID,
            teamID: identity.teamID,
            ending: ending,
            metadata: body.metadata,
            errorMessage: body.errorMessage
        )
        settlements.record(completion.tally)
        if completion.settledNow {
            // Long polls and event streams of the job wake now, not at their next check.
            do { try await queue.remove([], completed: [job.jobID]) } catch {
                context.logger.warning("could not announce a completion", metadata: ["job_id": "\(job.jobID)", "error": "\(error)"])
            }
        }
        return CompletionResponse(completion: completion)
    }

    @Sendable func patchMetadata(_ request: Request, context: AppRequestContext) async throws -> MetadataResponse {
        let identity = try context.requireTeam()
        let body = try await request.decode(as: MetadataPatch.self, context: context)
        try Validate.metadata(body.metadata)
        let job = try await request.teamJob(jobs, context: context)
        let (metadata, updatedAt) = try await steps.mergeMetadata(job.jobID, teamID: identity.teamID, body.metadata)
        return MetadataResponse(jobID: job.jobID.lowercasedString, metadata: metadata, updatedAt: updatedAt)
    }

    @Sendable func costs(_ request: Request, context: AppRequestContext) async throws -> CostsResponse {
        let job = try await request.teamJob(jobs, context: context)
        return CostsResponse(jobID: job.jobID, costs: try await steps.costs(of: job))
    }

    // MARK: - Shared with the streaming twin

    /// Validates an `llm-call` body, checks the job and the model group (API.md's order: body,
    /// foreign job, model group, state, credits), queues the call and hands it to the queue.
    func queueCall(_ request: Request, context: AppRequestContext, callID: UUID, stream: Bool) async throws -> StepCall {
        let identity = try context.requireTeam()
        let body = try await request.decode(as: LLMCallRequest.self, context: context)
        let work = try body.validated(stream: stream)
        let job = try await request.teamJob(jobs, context: context)
        guard try await access.groups(ofTeam: identity.teamID).contains(body.model) else {
            throw APIError.noModelGroupAccess(body.model)
        }
        guard job.modelGroup == nil else { throw APIError.notStepByStepJob }
        guard !job.status.isTerminal else { throw APIError.jobAlreadyTerminal(job.status) }
        let (estimate, _) = try estimator.estimate(work, group: try await access.group(body.model))
        let callRequest = CallRequest(
            callID: callID,
            jobID: job.jobID,
            teamID: identity.teamID,
            modelGroup: body.model,
            work: work,
            estimate: estimate
        )
        let (queued, reserved) = try await UnknownOutcome.answering(idempotencyKey: nil, withoutKey: .callOutcomeUnknown) {
            try await steps.queueCall(callRequest)
        }
        do { _ = try await queue.enqueue([queued]) } catch {
            // Committed: the sweeper enqueues what Redis does not hold.
            context.logger.warning("could not enqueue a call", metadata: ["call_id": "\(queued.jobID)", "error": "\(error)"])
        }
        return StepCall(
            callID: queued.jobID,
            jobID: job.jobID,
            status: .queued,
            modelGroup: body.model,
            purpose: body.purpose,
            stream: stream,
            creditsReserved: reserved
        )
    }

    /// The call once it ended or `wait` ran out (a full set of long polls is no refusal here:
    /// the call is queued, and the answer is its state now).
    func settledCall(_ call: StepCall, wait: Double, context: AppRequestContext) async throws -> StepCall {
        guard wait > 0, !call.status.isTerminal, let team = context.team?.teamID else {
            return try await steps.stepCall(call.callID, of: call.jobID) ?? call
        }
        do {
            try await waiters.wait(for: call.callID, teamID: team, timeout: .milliseconds(Int64(wait * 1000)), connection: context.connection) {
                (try await steps.stepCall(call.callID, of: call.jobID))?.status.isTerminal ?? true
            }
        } catch is LongPollRefused {}
        return try await steps.stepCall(call.callID, of: call.jobID) ?? call
    }
}
