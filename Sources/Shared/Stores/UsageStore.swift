public import Foundation
public import Postgres

/// What a team did in a period: its jobs, the credits charged, tokens and cost.
public struct TeamUsage: Sendable, Hashable {
    public var teamID: String
    public var jobsTotal: Int
    public var jobsCompleted: Int
    public var jobsFailed: Int
    public var creditsUsed: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var costUSD: Decimal
}

/// Usage by period, from the jobs table (jobs created in `[start, end)`).
public protocol UsageStore: Sendable {
    func usage(organizationID: String?, teamID: String?, from start: Date, to end: Date) async throws -> [TeamUsage]
}

public struct PostgresUsageStore: UsageStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public func usage(organizationID: String?, teamID: String?, from start: Date, to end: Date) async throws -> [TeamUsage] {
        let rows = try await postgres.query(
            """
            SELECT t.team_id,
                   -- A step-by-step job's calls are jobs of their own: their money and tokens count,
                   -- they do not count as jobs.
                   count(j.job_id) FILTER (WHERE j.parent_job_id IS NULL) AS total,
                   count(j.job_id) FILTER (WHERE j.parent_job_id IS NULL AND j.status = 'completed') AS completed,
                   count(j.job_id) FILTER (WHERE j.parent_job_id IS NULL AND j.status = 'failed') AS failed,
                   COALESCE(sum(j.credits_charged), 0) AS credits_used,
                   -- Tokens and cost from the rows that made calls (a step-by-step job's own row
                   -- repeats its calls' totals).
                   COALESCE(sum(j.prompt_tokens) FILTER (WHERE j.model_group IS NOT NULL), 0) AS prompt_tokens,
                   COALESCE(sum(j.completion_tokens) FILTER (WHERE j.model_group IS NOT NULL), 0) AS completion_tokens,
                   COALESCE(sum(j.cost_usd) FILTER (WHERE j.model_group IS NOT NULL), 0) AS cost_usd
            FROM teams t
            LEFT JOIN jobs j ON j.team_id = t.team_id AND j.created_at >= $3 AND j.created_at < $4
            WHERE ($1::text IS NULL OR t.organization_id = $1) AND ($2::text IS NULL OR t.team_id = $2)
            GROUP BY t.team_id ORDER BY t.team_id
            """,
            [PostgresBind(organizationID), PostgresBind(teamID), .timestamp(start), .timestamp(end)]
        )
        return try rows.map { row in
            TeamUsage(
                teamID: try row.decode("team_id"),
                jobsTotal: try row.decode("total"),
                jobsCompleted: try row.decode("completed"),
                jobsFailed: try row.decode("failed"),
                creditsUsed: try row.decode("credits_used"),
                promptTokens: try row.decode("prompt_tokens"),
                completionTokens: try row.decode("completion_tokens"),
                costUSD: try row.decode("cost_usd")
            )
        }
    }
}
