import Shared

/// What submitting needs to know about a team's model groups — which it holds, and each group's
/// models with their prices and context budgets — cached for a second per process. Submits come
/// in thousands per second; assignments change rarely, and a change reaches every process within
/// the second, like suspension. When an entry expires under load, the submits that find it stale
/// share one read (``ExpiringCache``'s single flight) instead of each making its own.
final class ModelAccessCache: Sendable {
    static let timeToLive: Duration = .seconds(1)
    private let teams: any TeamStore
    private let modelGroups: any ModelGroupStore
    private let teamGroups = ExpiringCache<String, Set<String>>(timeToLive: ModelAccessCache.timeToLive)
    private let groups = ExpiringCache<String, ModelGroup>(timeToLive: ModelAccessCache.timeToLive)

    init(teams: any TeamStore, modelGroups: any ModelGroupStore) {
        self.teams = teams
        self.modelGroups = modelGroups
    }

    /// The model groups a team holds.
    func groups(ofTeam teamID: String) async throws -> Set<String> {
        try await teamGroups.value(for: teamID) { [teams] in Set(try await teams.get(teamID).modelGroups) }
    }

    func group(_ name: String) async throws -> ModelGroup {
        try await groups.value(for: name) { [modelGroups] in try await modelGroups.get(name) }
    }

    /// What `work` on model group `model` reserves, once the team is known to hold the group
    /// (403 otherwise). `groups` are the team's groups when the caller already read them (a
    /// batch reads them once). One place for submits, batches and estimates, so that an estimate
    /// is exactly what the submit then reserves.
    func estimate(
        _ work: JobWork,
        model: String,
        teamID: String,
        groups: Set<String>? = nil,
        with estimator: ReservationEstimator
    ) async throws -> (Billing.Estimate, callsPlanned: Int) {
        let held = if let groups { groups } else { try await self.groups(ofTeam: teamID) }
        guard held.contains(model) else { throw APIError.noModelGroupAccess(model) }
        return try estimator.estimate(work, group: try await group(model))
    }
}
