public import Foundation
import Postgres

extension PostgresJobStore {
    /// One probe per team of the index of queued jobs by team and submit time (`jobs_queued_team`,
    /// migration 0021): the cost is the number of teams, whatever the backlog.
    public func oldestQueued(teams: [String]) async throws -> [String: Date] {
        guard !teams.isEmpty else { return [:] }
        let rows = try await postgres.query(
            """
            SELECT t.team_id, (
                SELECT j.created_at FROM jobs j
                WHERE j.team_id = t.team_id AND j.status = 'queued' AND j.model_group IS NOT NULL
                ORDER BY j.created_at LIMIT 1
            ) AS oldest
            FROM unnest($1::text[]) AS t(team_id)
            """,
            [.textArray(teams)]
        )
        var oldest: [String: Date] = [:]
        for row in rows {
            if let date = try row.decodeIfPresent("oldest", as: Date.self) {
                oldest[try row.decode("team_id", as: String.self)] = date
            }
        }
        return oldest
    }
}
