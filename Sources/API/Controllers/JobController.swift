import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import Shared

/// The team side of jobs: submit, poll (with long polling), cancel, calls, and the team's list.
struct JobController {
    let jobs: any JobStore
    let steps: any StepJobStore
    let queue: any JobQueue
    let access: ModelAccessCache
    let estimator: ReservationEstimator
    let pipeline: SubmissionPipeline
    let waiters: CompletionWaiters
    let contents: any JobContentStore
    let documents: any DocumentStore
    /// Multipart submits: the file is stored as it streams in.
    let uploads: UploadSubmission
    /// The team's submit limits, checked before the body is read.
    let limiter: SubmitLimiter
    /// Counts what a cancel's transaction ended and charged, once it committed.
    var settlements = SettlementMetrics()

    struct CreatedResponse: JSONWritable {
        var jobID: String
        var status: String
        var createdAt: Date
        var creditsReserved: Int?

        enum CodingKeys: String, CodingKey {
            case jobID = "job_id"
            case status
            case createdAt = "created_at"
            case creditsReserved = "credits_reserved"
        }

        /// Written directly (``JSONWritable``): the same JSON as the `Encodable` conformance.
        static let writerCapacity = 160

        func write(to writer: inout JSONWriter) {
            writer.beginObject()
            writer.key("job_id")
            writer.string(jobID)
            writer.key("status")
            writer.string(status)
            writer.key("created_at")
            writer.date(createdAt)
            if let creditsReserved {
                writer.key("credits_reserved")
                writer.int(creditsReserved)
            }
            writer.endObject()
        }
    }

    func addRoutes(team: RouteTable<AppRequestContext>, teamOrAdmin: RouteTable<AppRequestContext>) {
        team.post("/jobs/create", use: create)
        team.get("/jobs/{job_id}", use: get)
        team.post("/jobs/{job_id}/cancel", use: cancel)
        team.delete("/jobs/{job_id}", use: erase)
        team.get("/jobs/{job_id}/calls", use: calls)
        teamOrAdmin.get("/teams/{team_id}/jobs", use: list)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireTeam()
        try await limiter.admit(identity.teamID)
        if UploadSubmission.isMultipart(request) { return try await createFromUpload(request, context: context) }
        let body = try await request.decode(as: SubmitRequest.self, context: context)
        let work = try body.validated()
        guard body.teamID == identity.teamID else {
            throw APIError.keyNotForTeam(body.teamID)
        }
        switch try await submit(body, work: work, teamID: identity.teamID, request: request) {
        case .created(let jobID, let status, let createdAt, let reserved):
            return try Self.created(jobID, status, createdAt, reserved, pending: status == .pending, request, context)
        case .replayed(let jobID, let status, let createdAt, let reserved, let wasPending):
            return try Self.created(jobID, status, createdAt, reserved, pending: wasPending, request, context)
        case .refused(let reason):
            throw reason
        }
    }

    /// A multipart submit: the file is stored as it arrives, then the job part is checked and the
    /// job submitted as any other, its document the upload (see ``UploadSubmission``).
    func createFromUpload(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireTeam()
        let (jobID, upload) = try await uploads.receive(request, teamID: identity.teamID) { job in
            // The job part came first: its fields, team and model group before the file is stored.
            let body = try StrictJSONDecoder().decode(SubmitRequest.self, from: Data(buffer: job))
            _ = try body.validated(upload: DocumentUpload(kind: .text, byteSize: 0, fileName: nil))
            guard body.teamID == identity.teamID else { throw APIError.keyNotForTeam(body.teamID) }
            if let model = body.model, try await !access.groups(ofTeam: identity.teamID).contains(model) {
                throw APIError.noModelGroupAccess(model)
            }
        }
        let body: SubmitRequest
        let work: JobWork?
        do {
            body = try StrictJSONDecoder().decode(SubmitRequest.self, from: Data(buffer: upload.job))
            work = try body.validated(upload: DocumentUpload(kind: upload.kind, byteSize: upload.byteSize, fileName: upload.fileName))
            guard body.teamID == identity.teamID else { throw APIError.keyNotForTeam(body.teamID) }
        } catch {
            await uploads.discard(jobID)
            throw error
        }
        let outcome: SubmitOutcome
        do {
            outcome = try await submit(body, work: work, teamID: identity.teamID, request: request, jobID: jobID, file: upload.sha256)
        } catch let error as APIError where error != .submitOutcomeUnknown && error != .outcomeUnknownRetryWithKey {
            // Refused before anything was written. An unknown outcome keeps the bytes: the job
            // may exist (the sweeper erases them in an hour if it does not).
            await uploads.discard(jobID)
            throw error
        } catch let error as BatcherOverloaded {
            await uploads.discard(jobID)
            throw error
        }
        switch outcome {
        case .created(let jobID, let status, let createdAt, let reserved):
            await uploads.attach(jobID, logger: context.logger)
            return try Self.created(jobID, status, createdAt, reserved, pending: false, request, context)
        case .replayed(let earlier, let status, let createdAt, let reserved, let wasPending):
            // The earlier submit's job has its own copy of the file.
            await uploads.discard(jobID)
            return try Self.created(earlier, status, createdAt, reserved, pending: wasPending, request, context)
        case .refused(let reason):
            await uploads.discard(jobID)
            throw reason
        }
    }

    /// Checks the model group, estimates the reservation and submits through the pipeline (with
    /// the request's Idempotency-Key); shared by `create` and `create-and-call`. `file` is the
    /// SHA-256 of an uploaded document, part of what an Idempotency-Key promises.
    func submit(
        _ body: SubmitRequest,
        work: JobWork?,
        teamID: String,
        request: Request,
        jobID: UUID = UUID.random(),
        file: [UInt8]? = nil
    ) async throws -> SubmitOutcome {
        var estimate: Billing.Estimate?
        var callsPlanned = 0
        if let model = body.model, let work {
            (estimate, callsPlanned) = try await access.estimate(work, model: model, teamID: teamID, with: estimator)
        }
        let key = try request.idempotencyKey()
        let submission = body.submission(
            jobID: jobID,
            teamID: teamID,
            work: work,
            estimate: estimate,
            callsPlanned: callsPlanned,
            idempotencyKey: key,
            requestHash: key.map { _ in Self.fingerprint(body, stream: work?.stream == true, file: file) }
        )
        return try await UnknownOutcome.answering(idempotencyKey: key, withoutKey: .submitOutcomeUnknown) {
            try await pipeline.submit(submission)
        }
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JobResponse {
        let jobID = try context.jobID()
        var job = try await Self.ownedJob(jobID, jobs, context)
        if let raw = request.uri.queryParameters["wait"], !job.status.isTerminal {
            guard let seconds = Double(String(raw)), seconds >= 0 else {
                throw APIError.waitInvalid
            }
            let timeout = Duration.milliseconds(Int64(min(seconds, 60) * 1000))
            try await waiters.wait(for: jobID, teamID: job.teamID, timeout: timeout, connection: context.connection) {
                (try await jobs.get(jobID))?.status.isTerminal ?? true
            }
            job = try await jobs.get(jobID) ?? job
        }
        return JobResponse(job: job)
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> JobResponse {
        let jobID = try context.jobID()
        _ = try await Self.ownedJob(jobID, jobs, context)
        return JobResponse(
            job: try await Self.cancel(jobID, jobs: jobs, steps: steps, queue: queue, settlements: settlements, logger: context.logger)
        )
    }

    /// `DELETE /api/jobs/{id}`: erases a finished job's contents — its request, result, steps,
    /// extracted text and uploaded file —, keeping what accounts for it (ids, status, usage,
    /// costs, ledger rows). Erasing again answers the same.
    @Sendable func erase(_ request: Request, context: AppRequestContext) async throws -> JobResponse {
        let jobID = try context.jobID()
        _ = try await Self.ownedJob(jobID, jobs, context)
        let job = try await contents.eraseContents(jobID)
        // After the job's row says erased: a failure here leaves bytes a second DELETE removes.
        try await documents.delete(jobID)
        return JobResponse(job: job)
    }

    @Sendable func calls(_ request: Request, context: AppRequestContext) async throws -> CallsResponse {
        let jobID = try context.jobID()
        _ = try await Self.ownedJob(jobID, jobs, context)
        return CallsResponse(calls: try await jobs.calls(jobID).map { CallResponse($0, admin: false) })
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JobListResponse {
        let teamID = try context.teamID()
        try context.requireOwnTeam(teamID, for: .jobs)
        let query = try ListQuery(request)
        let status = try request.jobStatusFilter()
        let page = try await jobs.list(teamID: teamID, status: status, limit: query.limit, after: query.position)
        return JobListResponse(jobs: page.items.map { JobResponse(job: $0) }, nextCursor: Nullable(page.nextCursor))
    }

    // MARK: - Shared by the admin routes

    /// Cancels and tells the queue: a job that ended is forgotten (and its pollers woken); a
    /// running one is signalled so that its worker aborts the call. A step-by-step job's calls
    /// went with it: the queued ones are forgotten and their waiters woken, the running ones
    /// signalled. What the cancel's transaction ended (and a step-by-step job's calls were
    /// charged) is counted once it committed; a running job is counted when its worker settles it.
    static func cancel(
        _ jobID: UUID,
        jobs: any JobStore,
        steps: any StepJobStore,
        queue: any JobQueue,
        settlements: SettlementMetrics,
        logger: Logger
    ) async throws -> Job {
        let (job, tally) = try await jobs.cancelTallied(jobID)
        settlements.record(tally)
        do {
            var ended = job.status == .cancelled ? [jobID] : []
            var running = job.status == .cancelling ? [jobID] : []
            if job.modelGroup == nil {
                for call in try await steps.stepCalls(of: jobID) {
                    if call.status == .cancelled { ended.append(call.callID) }
                    if call.status == .cancelling { running.append(call.callID) }
                }
            }
            if !ended.isEmpty { try await queue.remove(ended, completed: ended) }
            for id in running { try await queue.publishCancel(id) }
        } catch {
            // The worker also learns of the cancel at its next lease renewal.
            logger.warning("could not signal a cancel", metadata: ["job_id": "\(jobID)", "error": "\(error)"])
        }
        return job
    }

    /// The job, if it exists and the caller may see it (its team, or an admin).
    static func ownedJob(_ jobID: UUID, _ jobs: any JobStore, _ context: AppRequestContext) async throws -> Job {
        guard let job = try await jobs.get(jobID) else { throw APIError.jobNotFound }
        try context.requireOwnTeam(job.teamID, for: .jobs)
        return job
    }

    private static func created(
        _ jobID: UUID,
        _ status: JobStatus,
        _ createdAt: Date,
        _ reserved: Int,
        pending: Bool,
        _ request: Request,
        _ context: AppRequestContext
    ) throws -> Response {
        let body = CreatedResponse(
            jobID: jobID.lowercasedString,
            status: status.rawValue,
            createdAt: createdAt,
            creditsReserved: pending ? nil : reserved
        )
        var response = try body.response(from: request, context: context)
        response.status = pending ? .ok : .accepted
        return response
    }

    /// What an Idempotency-Key promises: the same request body (its JSON, keys sorted).
    /// A streamed submit (`create-and-call-stream`) is another request than the same body
    /// submitted plainly: a replay must not answer a stream with a job that streams nothing.
    static func fingerprint(_ body: SubmitRequest, stream: Bool, file: [UInt8]?) -> [UInt8] {
        var canonical = CanonicalSubmit(body)
        if stream { canonical.fields["stream"] = .bool(true) }
        if let file { canonical.fields["file_sha256"] = .string(file.map { String(format: "%02x", $0) }.joined()) }
        return Array(SHA256.hash(data: Array(JSONText.encode(canonical).utf8)))
    }
}

/// The submitted fields, re-encoded in a stable order for fingerprinting.
private struct CanonicalSubmit: Encodable {
    var fields: [String: JSONValue]

    init(_ b: SubmitRequest) {
        var f: [String: JSONValue] = ["team_id": .string(b.teamID), "job_type": .string(b.jobType)]
        if let v = b.userID { f["user_id"] = .string(v) }
        if let v = b.metadata { f["metadata"] = .object(v) }
        if let v = b.model { f["model"] = .string(v) }
        if let v = b.messages { f["messages"] = .array(v) }
        if let v = b.document { f["document"] = .string(v) }
        if let v = b.instructions { f["instructions"] = .string(v) }
        if let v = b.temperature { f["temperature"] = .number(v) }
        if let v = b.maxTokens { f["max_tokens"] = .integer(v) }
        if let v = b.responseFormat { f["response_format"] = v }
        if let v = b.tools { f["tools"] = v }
        if let v = b.toolChoice { f["tool_choice"] = v }
        if let v = b.stop { f["stop"] = v }
        if let v = b.topP { f["top_p"] = .number(v) }
        if let v = b.priority { f["priority"] = .integer(v) }
        if let v = b.allowPartial { f["allow_partial"] = .bool(v) }
        if let v = b.expiresInSeconds { f["expires_in_seconds"] = .integer(v) }
        if let v = b.frequencyPenalty { f["frequency_penalty"] = .number(v) }
        // Only an opt-out: `true` and absent are the same request.
        if b.webhook == false { f["webhook"] = .bool(false) }
        if let v = b.presencePenalty { f["presence_penalty"] = .number(v) }
        if let v = b.purpose { f["purpose"] = .string(v) }
        if let v = b.jobMetadata { f["job_metadata"] = .object(v) }
        fields = f
    }

    func encode(to encoder: any Encoder) throws {
        try fields.encode(to: encoder)
    }
}
