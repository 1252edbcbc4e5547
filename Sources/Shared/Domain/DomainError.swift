/// Why a store refused an operation, in the domain's words. The API maps each case to its status
/// and `detail` in one place (`APIError+Domain.swift`).
public enum DomainError: Error, Sendable, Equatable {
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
}
