import Shared

/// A team's limits as the submit routes need them, kept for a second per process — like the key
/// and model-access caches: a change reaches every API process within the second without any
/// messaging, and a busy team costs one read a second instead of one per submit (concurrent
/// misses share it: ``ExpiringCache``'s single flight). The process that changed a team's limits
/// forgets them at once (``forget(_:)``).
final class TeamLimitsCache: Sendable {
    static let timeToLive: Duration = .seconds(1)
    private let store: any TeamLimitsStore
    private let entries: ExpiringCache<String, TeamLimits>

    init(store: any TeamLimitsStore, timeToLive: Duration = TeamLimitsCache.timeToLive) {
        self.store = store
        entries = ExpiringCache(timeToLive: timeToLive)
    }

    func limits(of teamID: String) async throws -> TeamLimits {
        try await entries.value(for: teamID) { [store] in try await store.limits(of: teamID) }
    }

    /// Limits this process just changed: the next submit reads them again.
    func forget(_ teamID: String) {
        entries.remove(teamID)
    }
}
