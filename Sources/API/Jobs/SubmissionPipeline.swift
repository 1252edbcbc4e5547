import Foundation
import Logging
import Shared

/// Submits jobs in groups: concurrent requests share one PostgreSQL transaction (reservation,
/// job rows, ledger rows) and one Redis round trip (enqueue). A job is safe once committed: if
/// the enqueue fails, or this process dies before it, the sweeper enqueues it from PostgreSQL.
///
/// At most `maxPending` submits wait for a batch (`SUBMIT_QUEUE_MAX`): past it a submit is
/// refused at once with ``BatcherOverloaded`` (a 503 with `Retry-After`) and nothing is written,
/// so overload is answered rather than queued into unbounded memory and latency.
struct SubmissionPipeline: Sendable {
    private let batcher: Batcher<JobSubmission, Result<SubmitOutcome, any Error>>

    /// `submitted` counts the jobs each committed transaction created (`saas_jobs_submitted_total`).
    init(jobs: any JobStore, queue: any JobQueue, maxPending: Int? = nil, submitted: JobsSubmittedCounter = JobsSubmittedCounter(), logger: Logger) {
        batcher = Batcher(maxBatch: 500, maxConcurrentBatches: 2, maxPending: maxPending, priority: .high) { submissions in
            let results = try await jobs.submit(submissions)
            submitted.record(
                zip(submissions, results).lazy.compactMap { submission, result in
                    guard case .success(let outcome) = result else { return nil }
                    return (teamID: submission.teamID, outcome: outcome)
                }
            )
            var toEnqueue: [QueuedJob] = []
            for (submission, result) in zip(submissions, results) {
                if case .success(.created(_, .queued, _, _)) = result {
                    toEnqueue.append(QueuedJob(jobID: submission.jobID, teamID: submission.teamID, priority: submission.priority))
                }
            }
            do {
                try await queue.enqueue(toEnqueue)
            } catch {
                logger.warning("enqueue failed; the sweeper will enqueue these jobs", metadata: ["count": "\(toEnqueue.count)", "error": "\(error)"])
            }
            return results
        }
    }

    func submit(_ submission: JobSubmission) async throws -> SubmitOutcome {
        try await batcher.submit(submission).get()
    }
}
