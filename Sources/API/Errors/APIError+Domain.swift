import Shared

extension APIError {
    /// The one place where the domain's refusals become HTTP answers (API.md's strings).
    init(_ error: DomainError) {
        switch error {
        case .organizationNotFound(let id): self = .notFound("Organization '\(id)' not found")
        case .organizationExists(let id): self = .conflict("Organization with ID '\(id)' already exists")
        case .teamNotFound(let id): self = .notFound("Team '\(id)' not found")
        case .teamExists(let id): self = .conflict("Team '\(id)' already exists")
        case .modelGroupNotFound(let name): self = .notFound("Model group '\(name)' not found")
        case .modelGroupExists(let name): self = .conflict("Model group '\(name)' already exists")
        case .modelGroupAssigned(let name): self = .conflict("Model group '\(name)' is assigned to teams")
        case .modelGroupHasLiveJobs(let name): self = .conflict("Model group '\(name)' has live jobs")
        case .providerNotFound(let name): self = .notFound("Provider '\(name)' not found")
        case .providerExists(let name): self = .conflict("Provider '\(name)' already exists")
        case .providerInUse(let name): self = .conflict("Provider '\(name)' is used by model groups")
        case .balanceWouldGoNegative(let remaining, let change):
            self = .conflict("Adjustment of \(change) credits would take the balance below zero (\(remaining) remaining)")
        case .insufficientCredits(let remaining, let needed): self = .insufficientCredits(remaining: remaining, needed: needed)
        case .balanceLimitExceeded:
            self = .unprocessable("The balance would exceed the maximum of \(CreditLimits.maximumBalance) credits")
        case .idempotencyKeyReused: self = .conflict("Idempotency-Key reused with a different request")
        }
    }
}
