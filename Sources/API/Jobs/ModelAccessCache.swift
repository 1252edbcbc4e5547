import Foundation
import Shared
import Synchronization

/// What submitting needs to know about a team's model groups — which it holds, and each group's
/// models with their prices and context budgets — cached for a second per process. Submits come
/// in thousands per second; assignments change rarely, and a change reaches every process within
/// the second, like suspension.
final class ModelAccessCache: Sendable {
    private struct Cached<Value: Sendable>: Sendable {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    private let teams: any TeamStore
    private let modelGroups: any ModelGroupStore
    private let teamGroups = Mutex<[String: Cached<Set<String>>]>([:])
    private let groups = Mutex<[String: Cached<ModelGroup>]>([:])
    static let timeToLive: Duration = .seconds(1)

    init(teams: any TeamStore, modelGroups: any ModelGroupStore) {
        self.teams = teams
        self.modelGroups = modelGroups
    }

    /// The model groups a team holds.
    func groups(ofTeam teamID: String) async throws -> Set<String> {
        let now = ContinuousClock.now
        if let cached = teamGroups.withLock({ $0[teamID] }), cached.expires > now { return cached.value }
        let value = Set(try await teams.get(teamID).modelGroups)
        teamGroups.withLock { $0[teamID] = Cached(value: value, expires: now + Self.timeToLive) }
        return value
    }

    func group(_ name: String) async throws -> ModelGroup {
        let now = ContinuousClock.now
        if let cached = groups.withLock({ $0[name] }), cached.expires > now { return cached.value }
        let value = try await modelGroups.get(name)
        groups.withLock { $0[name] = Cached(value: value, expires: now + Self.timeToLive) }
        return value
    }
}
