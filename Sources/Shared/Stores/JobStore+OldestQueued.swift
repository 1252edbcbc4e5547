public import Foundation

extension JobStore {
    /// From ``queueStats()``: right for any store, at the cost of reading every live job. The
    /// PostgreSQL store reads one index entry per team instead.
    public func oldestQueued(teams: [String]) async throws -> [String: Date] {
        let wanted = Set(teams)
        var oldest: [String: Date] = [:]
        for team in try await queueStats() where wanted.contains(team.teamID) {
            oldest[team.teamID] = team.oldestQueuedAt
        }
        return oldest
    }
}
