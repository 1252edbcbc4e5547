import Hummingbird
import NIOCore
import Shared

/// `POST /api/jobs/batch`: up to 1,000 submit bodies, each answered on its own, written in one
/// transaction and enqueued with one call (see ``BatchSubmission``).
struct BatchController {
    let batches: BatchSubmission
    /// The team's submit limits (a batch is one submit request).
    let limiter: SubmitLimiter
    /// The batches this process handles at once (`BATCH_CONCURRENCY`).
    let gate: BatchGate

    init(_ dependencies: AppDependencies, estimator: ReservationEstimator) {
        batches = BatchSubmission(
            jobs: dependencies.jobs,
            queue: dependencies.queue,
            access: dependencies.modelAccess,
            estimator: estimator,
            created: dependencies.jobsSubmitted
        )
        limiter = dependencies.submitLimiter
        gate = BatchGate(limit: dependencies.configuration.batchConcurrency)
    }

    func addRoutes(team: RouteTable<AppRequestContext>) {
        team.post("/jobs/batch", use: submit)
    }

    /// 202 with one entry per job. There is no one job to point a `Location` at; `Retry-After`
    /// says when polling the jobs is worth it, as for a single submit.
    @Sendable func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireTeam()
        // The team's submit limits (429 with Retry-After): after the key and suspension, before
        // the body (API.md, Conventions).
        try await limiter.admit(identity.teamID)
        if UploadSubmission.isMultipart(request) { throw APIError.batchNotJSON }
        // A place among this process's batches before the body is read (503 past the bound),
        // held until the answer is built.
        let answer = try await gate.run {
            let body = try await BatchRequest.read(request)
            // `max_queued_jobs` with the batch's count, now that it is known: the check before
            // the body counted the batch as one job.
            try await limiter.admitQueued(identity.teamID, jobs: body.items.count)
            return try await batches.submit(
                body,
                teamID: identity.teamID,
                idempotencyKey: Result { () throws(APIError) in try request.idempotencyKey() },
                logger: context.logger
            )
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.retryAfter] = "1"
        return Response(status: .accepted, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer)))
    }
}
