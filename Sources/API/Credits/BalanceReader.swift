import Shared

/// Reads balances in groups: concurrent requests — a dashboard polling, a client checking before
/// each submit — share one query. Each batch's query starts after its requests arrived, so every
/// answer is a balance the team really had while its request was open.
struct BalanceReader: Sendable {
    typealias Balance = (CreditBalance, BillingSettings)
    private let batcher: Batcher<String, Balance?>

    init(credits: any CreditStore) {
        batcher = Batcher(maxBatch: 512, maxConcurrentBatches: 2) { teamIDs in
            let found = try await credits.balances(teamIDs: Array(Set(teamIDs)))
            return teamIDs.map { found[$0] }
        }
    }

    func balance(_ teamID: String) async throws -> Balance {
        guard let balance = try await batcher.submit(teamID) else { throw DomainError.teamNotFound(teamID) }
        return balance
    }
}
