import Shared

extension APIError {
    /// The one place where the domain's refusals become HTTP answers (their sentences are in
    /// `APIError+Details.swift`).
    init(_ error: DomainError) {
        switch error {
        case .organizationNotFound(let id): self = .organizationNotFound(id)
        case .organizationExists(let id): self = .organizationExists(id)
        case .teamNotFound(let id): self = .teamNotFound(id)
        case .teamExists(let id): self = .teamExists(id)
        case .modelGroupNotFound(let name): self = .modelGroupNotFound(name)
        case .modelGroupExists(let name): self = .modelGroupExists(name)
        case .modelGroupAssigned(let name): self = .modelGroupAssigned(name)
        case .modelGroupHasLiveJobs(let name): self = .modelGroupHasLiveJobs(name)
        case .providerNotFound(let name): self = .providerNotFound(name)
        case .providerExists(let name): self = .providerExists(name)
        case .providerInUse(let name): self = .providerInUse(name)
        case .balanceWouldGoNegative(let remaining, let change): self = .balanceWouldGoNegative(remaining: remaining, change: change)
        case .insufficientCredits(let remaining, let needed): self = .insufficientCredits(remaining: remaining, needed: needed)
        case .balanceLimitExceeded: self = .balanceLimitExceeded
        case .idempotencyKeyReused: self = .idempotencyKeyReused
        // Deleted between authentication and the write: the key opens nothing any more.
        case .callerTeamNotFound: self = .invalidAPIKey
        case .jobNotFound: self = .jobNotFound
        case .jobAlreadyTerminal(let status): self = .jobAlreadyTerminal(status)
        case .jobNotRetryable(let status): self = .jobNotRetryable(status)
        case .stepByStepNotRetryable: self = .stepByStepNotRetryable
        case .jobOfAnotherTeam: self = .jobOfAnotherTeam
        case .notStepByStepJob: self = .notStepByStepJob
        case .callsInFlight: self = .callsInFlight
        case .callNotFound: self = .callNotFound
        case .metadataTooLarge: self = .metadataTooLarge("metadata")
        case .callLimitReached(let limit): self = .callLimitReached(limit)
        case .jobNotFinished(let status): self = .jobNotFinished(status)
        case .jobContentErased: self = .jobContentErased
        }
    }
}
