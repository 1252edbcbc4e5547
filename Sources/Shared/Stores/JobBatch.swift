public import Foundation

/// One team's batch of jobs (`POST /api/jobs/batch`), as the API validated it: the items that
/// passed its checks, written together in one transaction by ``JobStore/submit(batch:)``.
public struct JobBatch: Sendable {
    public var teamID: String
    /// The items to create, in batch order; none carries an Idempotency-Key of its own (the
    /// batch's key covers them all).
    public var submissions: [JobSubmission]
    /// The batch's `Idempotency-Key`: with one, the answer is kept in `job_batches` in the same
    /// transaction as the jobs, and a replay of the same request answers it again.
    public var idempotencyKey: String?
    /// What the key promises: the batch's request, fingerprinted by the API.
    public var requestHash: [UInt8]?
    /// `all_or_nothing`: one submission the plan refuses (credits) and nothing is written.
    public var allOrNothing: Bool
    /// The batch's answer (JSON text) from its submissions' outcomes, one per submission in
    /// order: written beside the jobs when the batch has a key. It runs inside the transaction,
    /// so it is pure (a retried transaction runs it again).
    public var answer: @Sendable ([SubmitOutcome]) throws -> String

    public init(
        teamID: String,
        submissions: [JobSubmission],
        idempotencyKey: String?,
        requestHash: [UInt8]?,
        allOrNothing: Bool,
        answer: @escaping @Sendable ([SubmitOutcome]) throws -> String
    ) {
        self.teamID = teamID
        self.submissions = submissions
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.allOrNothing = allOrNothing
        self.answer = answer
    }
}

/// What submitting a batch came to.
public enum JobBatchOutcome: Sendable {
    /// Written: each submission's outcome (in order) and the batch's answer. The `queued` jobs
    /// among them are to be enqueued.
    case submitted(outcomes: [SubmitOutcome], answer: String)
    /// An earlier batch under the same key and request: its answer, as it was kept.
    case replayed(answer: String)
    /// `all_or_nothing`, and the submission at `index` was refused for `reason`: nothing was written.
    case refused(index: Int, reason: DomainError)
}
