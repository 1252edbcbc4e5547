import Crypto
import Foundation
import Logging
import Shared

/// A batch of submit bodies (`POST /api/jobs/batch`): each job checked exactly as a single JSON
/// submit is — decoding, ``SubmitRequest/validated(upload:)``, the key's team, the model group,
/// the ``ReservationEstimator`` —, then every job that passed written in one transaction
/// (``JobStore/submit(batch:)``) and the queued ones enqueued with one call.
struct BatchSubmission: Sendable {
    let jobs: any JobStore
    let queue: any JobQueue
    let access: ModelAccessCache
    let estimator: ReservationEstimator
    /// `saas_jobs_submitted_total`: the jobs a committed batch created, added once.
    var created = JobsSubmittedCounter()

    /// A job that passed the checks, or the answer a single submit of it would have had.
    enum Check: Sendable {
        case passed(JobSubmission, fingerprint: [UInt8])
        case refused(APIError, fingerprint: [UInt8])
    }

    /// What the request gets: the batch's answer (JSON text), or the refusal of the whole batch
    /// — with `all_or_nothing`, its first refused job's status, the sentence naming the job.
    func submit(_ request: BatchRequest, teamID: String, idempotencyKey: Result<String?, APIError>, logger: Logger) async throws -> String {
        let groups = try await access.groups(ofTeam: teamID)
        var checks: [Check] = []
        checks.reserveCapacity(request.items.count)
        // Fingerprints only matter under a key (a bad key header is refused after the checks).
        let keyed = if case .success(.some) = idempotencyKey { true } else { false }
        for item in request.items { checks.append(try await check(item, teamID: teamID, groups: groups, fingerprinted: keyed)) }

        var refused: [Int: APIError] = [:]
        var submitted: [Int] = []
        var submissions: [JobSubmission] = []
        var hash = SHA256()
        hash.update(data: [request.allOrNothing ? 1 : 0])
        for (index, check) in checks.enumerated() {
            switch check {
            case .passed(let submission, let fingerprint):
                submitted.append(index)
                submissions.append(submission)
                hash.update(data: [1] + fingerprint)
            case .refused(let error, let fingerprint):
                refused[index] = error
                hash.update(data: [0] + fingerprint)
            }
        }
        if request.allOrNothing, let first = refused.keys.min(), let error = refused[first] {
            throw APIError.batchItemRefused(first, error)
        }
        // After the jobs' checks, as a single submit reads it (API.md, Conventions).
        let key = try idempotencyKey.get()
        let count = request.items.count
        let batch = JobBatch(
            teamID: teamID,
            submissions: submissions,
            idempotencyKey: key,
            requestHash: key.map { _ in Array(hash.finalize()) },
            allOrNothing: request.allOrNothing,
            answer: { [refused, submitted] outcomes in
                try BatchAnswer(count: count, refused: refused, submitted: submitted, outcomes: outcomes).text()
            }
        )
        let outcome = try await UnknownOutcome.answering(idempotencyKey: key, withoutKey: .submitOutcomeUnknown) {
            try await jobs.submit(batch: batch)
        }
        switch outcome {
        case .submitted(let outcomes, let answer):
            created.record(outcomes.lazy.map { (teamID: teamID, outcome: $0) })
            await enqueue(zip(submissions, outcomes), logger: logger)
            return answer
        case .replayed(let answer):
            return answer
        case .refused(let index, let reason):
            throw APIError.batchItemRefused(submitted[index], APIError(reason))
        }
    }

    /// One job's checks, in a single submit's order; a refusal is the job's own answer. Errors
    /// that are not about the job (a store that is down) fail the batch.
    private func check(_ item: Data, teamID: String, groups: Set<String>, fingerprinted: Bool) async throws -> Check {
        // The fingerprint of a job that decodes is its submit's (a replay may reorder its keys);
        // of one that does not, its bytes.
        var fingerprint = fingerprinted ? Array(SHA256.hash(data: item)) : []
        do {
            // Each job may be as large as a single submit's body, no larger.
            guard item.count <= SubmitRequest.bodyLimit else { throw APIError.payloadTooLarge(limit: SubmitRequest.bodyLimit) }
            let body = try StrictJSONDecoder().decode(SubmitRequest.self, from: item)
            if fingerprinted { fingerprint = JobController.fingerprint(body, stream: false, file: nil) }
            let work = try body.validated()
            guard body.teamID == teamID else { throw APIError.keyNotForTeam(body.teamID) }
            var estimate: Billing.Estimate?
            var callsPlanned = 0
            if let model = body.model, let work {
                (estimate, callsPlanned) = try await access.estimate(work, model: model, teamID: teamID, groups: groups, with: estimator)
            }
            let submission = body.submission(
                teamID: teamID,
                work: work,
                estimate: estimate,
                callsPlanned: callsPlanned,
                idempotencyKey: nil,
                requestHash: nil
            )
            return .passed(submission, fingerprint: fingerprint)
        } catch let error as APIError {
            return .refused(error, fingerprint: fingerprint)
        }
    }

    /// The created `queued` jobs, in one call. A failure is not the client's: the jobs are
    /// committed, and the sweeper enqueues what Redis lacks.
    private func enqueue(_ results: Zip2Sequence<[JobSubmission], [SubmitOutcome]>, logger: Logger) async {
        var queued: [QueuedJob] = []
        for (submission, outcome) in results {
            if case .created(_, .queued, _, _) = outcome {
                queued.append(QueuedJob(jobID: submission.jobID, teamID: submission.teamID, priority: submission.priority))
            }
        }
        guard !queued.isEmpty else { return }
        do {
            _ = try await queue.enqueue(queued)
        } catch {
            logger.warning("enqueue failed; the sweeper will enqueue these jobs", metadata: ["count": "\(queued.count)", "error": "\(error)"])
        }
    }
}
