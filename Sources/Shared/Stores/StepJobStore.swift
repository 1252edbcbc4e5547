public import Foundation

/// The step-by-step flow of the original system (API.md, "Step-by-step jobs and single calls"),
/// kept in the shape of this one: a job created without work is a container, each `llm-call` on
/// it a job of its own that the workers run, and `complete` settles the container exactly once.
/// Refusals are ``DomainError``s: `jobNotFound`, `jobOfAnotherTeam`, `notStepByStepJob`,
/// `jobAlreadyTerminal`, `callsInFlight`, `insufficientCredits`.
public protocol StepJobStore: Sendable {
    /// Reserves what the call can cost (`job_based`: the job's 1 credit at its first call),
    /// creates the call as a queued job and moves the job to `in_progress` — one transaction. The
    /// caller enqueues the returned job; should that fail, the sweeper enqueues it.
    func queueCall(_ request: CallRequest) async throws -> (call: QueuedJob, creditsReserved: Int)
    /// One call of a job; nil when the job has no such call.
    func stepCall(_ callID: UUID, of jobID: UUID) async throws -> StepCall?
    /// The job's calls, oldest first.
    func stepCalls(of jobID: UUID) async throws -> [StepCall]
    /// Ends the job as `completed` or `failed` and settles its calls, once: a job already
    /// completed (or failed) through `complete` answers the same, with nothing charged again.
    func complete(
        _ jobID: UUID,
        teamID: String,
        ending: StepSettlementPlan.Ending,
        metadata: JSONObject?,
        errorMessage: String?
    ) async throws -> StepCompletion
    /// Merges `patch` into the job's metadata (shallow: top-level keys replace); returns the
    /// metadata and when it changed.
    func mergeMetadata(_ jobID: UUID, teamID: String, _ patch: JSONObject) async throws -> (metadata: JSONObject, updatedAt: Date)
    /// What the job's calls came to: per `llm-call` for a step-by-step job, per upstream call for
    /// a job submitted with its work.
    func costs(of job: Job) async throws -> JobCosts
    /// As ``costs(of:)`` for a job submitted with its work, from its calls the caller already read.
    func costs(of job: Job, calls: [JobCall]) async throws -> JobCosts
}
