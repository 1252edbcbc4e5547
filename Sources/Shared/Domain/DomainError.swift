/// Why a store refused an operation, in the domain's words: the one error channel from the stores
/// (and the submit pipeline's refusals) to the API, which maps each case to its status and
/// `detail` (`APIError+Domain.swift`, sentences in `APIError+Details.swift`).
public enum DomainError: Error, Sendable, Hashable {
    case organizationNotFound(String)
    case organizationExists(String)
    case teamNotFound(String)
    case teamExists(String)
    case modelGroupNotFound(String)
    case modelGroupExists(String)
    case modelGroupAssigned(String)
    /// Live (non-terminal) jobs name the group: deleting it would leave them looping until expiry.
    case modelGroupHasLiveJobs(String)
    case providerNotFound(String)
    case providerExists(String)
    case providerInUse(String)
    /// An adjustment that would take the balance below zero.
    case balanceWouldGoNegative(remaining: Int, change: Int)
    case insufficientCredits(remaining: Int, needed: Int)
    /// A change that would take a balance above ``CreditLimits/maximumBalance``.
    case balanceLimitExceeded
    /// The same `Idempotency-Key` with a different request.
    case idempotencyKeyReused
    /// The team a submit's key belongs to no longer exists (it went between authentication and
    /// the write): the key opens nothing any more, as an unknown key.
    case callerTeamNotFound
    case jobNotFound
    /// A cancel of a job that already ended.
    case jobAlreadyTerminal(JobStatus)
    /// A retry of a job that did not fail.
    case jobNotRetryable(JobStatus)
    /// A retry of a step-by-step job or one of its calls: their money settles through the job's
    /// `complete`, and a call is retried by making it again.
    case stepByStepNotRetryable
    /// A step-by-step route (`llm-call`, `complete`, a call) on a job of another team.
    case jobOfAnotherTeam
    /// `llm-call` or `complete` on a job submitted with its work: only a job created without a
    /// model is a container of calls.
    case notStepByStepJob
    /// `complete` while calls of the job are queued or running.
    case callsInFlight
    case callNotFound
    /// A metadata merge whose result is larger than a job may keep (16 KiB of JSON, as at submit).
    case metadataTooLarge
    /// `llm-call` on a job that already has as many calls as one job may have.
    case callLimitReached(Int)
    /// Erasing the contents of a job that has not ended.
    case jobNotFinished(JobStatus)
    /// A retry of a job whose contents were erased: there is nothing left to run.
    case jobContentErased
}
