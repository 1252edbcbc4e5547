public import Foundation
public import Postgres

/// A team's limits (``TeamLimits``): four columns of `teams` and the low-balance threshold of its
/// credit account (migration 0009).
public protocol TeamLimitsStore: Sendable {
    /// The team's limits; throws ``DomainError/teamNotFound(_:)`` for an unknown team.
    func limits(of teamID: String) async throws -> TeamLimits
    /// Applies `change` in one transaction and returns the limits it left. Setting the
    /// low-balance threshold arms the alert only when the balance is at or above it, so that
    /// setting a threshold never sends `credits.low` by itself.
    func setLimits(_ teamID: String, _ change: TeamLimitsChange) async throws -> TeamLimits
    /// Every team with `max_concurrent_jobs`, for the queue's caps after Redis lost its data.
    func concurrencyCaps() async throws -> [String: Int]
}

public struct PostgresTeamLimitsStore: TeamLimitsStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public func limits(of teamID: String) async throws -> TeamLimits {
        try await postgres.withConnection { try await Self.fetch(teamID, $0) }
    }

    public func setLimits(_ teamID: String, _ change: TeamLimitsChange) async throws -> TeamLimits {
        try await postgres.withTransaction { tx in
            // Each column is written only when the body named it (`CASE WHEN <named>`).
            let updated = try await tx.query(
                """
                UPDATE teams SET
                    max_queued_jobs = CASE WHEN $2 THEN $3::integer ELSE max_queued_jobs END,
                    submits_per_second = CASE WHEN $4 THEN $5::numeric ELSE submits_per_second END,
                    max_concurrent_jobs = CASE WHEN $6 THEN $7::integer ELSE max_concurrent_jobs END,
                    retention_days = CASE WHEN $8 THEN $9::integer ELSE retention_days END,
                    updated_at = now()
                WHERE team_id = $1
                """,
                [
                    .text(teamID),
                    .bool(change.maxQueuedJobs.isChange), PostgresBind(change.maxQueuedJobs.applied(to: nil)),
                    .bool(change.submitsPerSecond.isChange), PostgresBind(change.submitsPerSecond.applied(to: nil)),
                    .bool(change.maxConcurrentJobs.isChange), PostgresBind(change.maxConcurrentJobs.applied(to: nil)),
                    .bool(change.retentionDays.isChange), PostgresBind(change.retentionDays.applied(to: nil)),
                ]
            )
            guard updated.affectedRows == 1 else { throw DomainError.teamNotFound(teamID) }
            if change.lowBalanceThreshold.isChange {
                // `low_balance_alerted` as the balance stands: the trigger then sees an alert
                // already given (balance below) or armed (at or above), and sends nothing now.
                try await tx.query(
                    """
                    UPDATE credit_accounts SET
                        low_balance_threshold = $2::bigint,
                        low_balance_alerted = COALESCE(credits_allocated - credits_used - credits_reserved < $2::bigint, false)
                    WHERE team_id = $1
                    """,
                    [.text(teamID), PostgresBind(change.lowBalanceThreshold.applied(to: nil))]
                )
            }
            return try await Self.fetch(teamID, tx)
        }
    }

    public func concurrencyCaps() async throws -> [String: Int] {
        let rows = try await postgres.query("SELECT team_id, max_concurrent_jobs FROM teams WHERE max_concurrent_jobs IS NOT NULL")
        var caps: [String: Int] = [:]
        for row in rows {
            caps[try row.decode("team_id")] = try row.decode("max_concurrent_jobs", as: Int.self)
        }
        return caps
    }

    /// The columns ``decode(_:)`` reads, for a query over `teams t` joined to `credit_accounts a`.
    static let columns = "t.max_queued_jobs, t.submits_per_second, t.max_concurrent_jobs, t.retention_days, a.low_balance_threshold"

    static func fetch(_ teamID: String, _ session: PostgresSession) async throws -> TeamLimits {
        let rows = try await session.query(
            "SELECT \(columns) FROM teams t LEFT JOIN credit_accounts a ON a.team_id = t.team_id WHERE t.team_id = $1",
            [.text(teamID)]
        )
        guard let row = rows.first else { throw DomainError.teamNotFound(teamID) }
        return try decode(row)
    }

    /// A team's limits from a row holding ``columns``.
    static func decode(_ row: PostgresRow) throws -> TeamLimits {
        TeamLimits(
            maxQueuedJobs: try row.decodeIfPresent("max_queued_jobs"),
            submitsPerSecond: try row.decodeIfPresent("submits_per_second"),
            maxConcurrentJobs: try row.decodeIfPresent("max_concurrent_jobs"),
            retentionDays: try row.decodeIfPresent("retention_days"),
            lowBalanceThreshold: try row.decodeIfPresent("low_balance_threshold")
        )
    }
}

extension JobStore {
    /// Stores that keep no limits cap no team.
    public func concurrencyCaps() async throws -> [String: Int] { [:] }
}

extension PostgresJobStore {
    /// The sweeper's source for the queue's caps (see ``TeamLimitsStore/concurrencyCaps()``).
    public func concurrencyCaps() async throws -> [String: Int] {
        try await PostgresTeamLimitsStore(postgres: postgres).concurrencyCaps()
    }
}
