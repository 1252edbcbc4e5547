public import Foundation
public import Postgres
import UUIDText

/// ``JobStore`` on PostgreSQL. The SQL of jobs lives in this file and its extensions:
/// reading here, submitting, running and settling, and control (cancel, retry, sweep).
///
/// ## Jobs found by id
///
/// A statement that finds jobs by id (or a team's jobs) and also tests their status writes the
/// status test inside `CASE` (`CASE WHEN j.status IN ('in_progress', 'cancelling') THEN true ELSE
/// false END`): the paths a worker runs for every job (mark, renew, settle, a step, an
/// extraction), a step-by-step job's cancel, and the listing by status. Written plainly, the
/// test proves the predicate of the partial indexes on live jobs (`jobs_leased`,
/// `jobs_live_expires`, `jobs_queued_changed`), and the planner may then read a whole partial
/// index and filter it by id or team instead of using the row's own index. It does so whenever
/// the statistics say the partial index is empty — as they do after any quiet spell, until the
/// next `ANALYZE` or `VACUUM`: each mark of 256 claims then read every queued job (30 ms with
/// 20,000 queued, and linear in the backlog), each settlement every running job. The planner
/// cannot see through `CASE`, so only the primary key (`jobs_parent`, the team's index) can serve
/// these statements, whatever the statistics say (`FoundByIdTests`). The webhook outbox and the
/// documents follow the same rule for their own partial indexes.
public struct PostgresJobStore: JobStore {
    let postgres: PostgresClient
    /// What this store last saw of its submitters' accounts: lets a batch that very likely fits
    /// be submitted in one round trip (``submitInOneTrip(_:prepared:)``).
    let accountHints: AccountHints
    /// `saas_submit_batches_total{path}`.
    let submitPaths: SubmitPathMetrics
    /// Shared by every process of the service: one sweeper at a time.
    static let sweeperLockKey = 7_240_113_502

    public init(postgres: PostgresClient, submitPaths: SubmitPathMetrics = SubmitPathMetrics()) {
        self.postgres = postgres
        self.accountHints = AccountHints()
        self.submitPaths = submitPaths
    }

    /// A job's columns as ``decodeJob(_:)`` reads them. A step-by-step job (no model group) adds
    /// its calls' reservations and charges to its own: each call is a job holding its own money.
    static let jobColumns = """
        job_id, team_id, job_type, user_id, status, priority, model_group, metadata,
        credits_reserved + CASE WHEN model_group IS NULL THEN COALESCE(
            (SELECT sum(c.credits_reserved) FROM jobs c WHERE c.parent_job_id = jobs.job_id), 0) ELSE 0 END AS credits_reserved,
        credits_charged + CASE WHEN model_group IS NULL THEN COALESCE(
            (SELECT sum(c.credits_charged) FROM jobs c WHERE c.parent_job_id = jobs.job_id), 0) ELSE 0 END AS credits_charged,
        attempts, calls_done, calls_planned, result, prompt_tokens, completion_tokens, cost_usd, error_code, error_message,
        created_at, started_at, completed_at, expires_at, content_erased_at
        """

    public func get(_ jobID: UUID) async throws -> Job? {
        try await postgres.query("SELECT \(Self.jobColumns) FROM jobs WHERE job_id = $1", [.uuid(jobID)]).first.map(Self.decodeJob)
    }

    public func list(teamID: String?, status: JobStatus?, limit: Int, after cursor: String?) async throws -> Page<Job> {
        // The cursor is "<created_at>|<job_id>" of the last job served: newest first, ties by id.
        var createdBefore: Date?
        var idBefore: UUID?
        if let cursor {
            let parts = cursor.split(separator: "|", maxSplits: 1).map(String.init)
            if parts.count == 2 {
                createdBefore = Date(postgresText: parts[0])
                idBefore = UUIDText.parse(parts[1])
            }
        }
        let rows = try await postgres.query(
            Self.listStatement(teamID: teamID, status: status, createdBefore: createdBefore, idBefore: idBefore, limit: limit + 1)
        )
        var jobs = try rows.map(Self.decodeJob)
        var next: String?
        if jobs.count > limit {
            jobs.removeLast()
            if let last = jobs.last {
                next = Cursor.encode("\(PostgresTimestamp.format(last.createdAt))|\(last.jobID.lowercasedString)")
            }
        }
        return Page(items: jobs, nextCursor: next)
    }

    /// A page of the listing, newest first. The status is tested inside `CASE` (see "Jobs found
    /// by id" above): a team's queued jobs are read from the team's index, never by scanning
    /// every queued job of every team and sorting them, which is what the planner chose when the
    /// statistics said the queue was empty.
    static func listStatement(teamID: String?, status: JobStatus?, createdBefore: Date?, idBefore: UUID?, limit: Int) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT \(Self.jobColumns) FROM jobs
            WHERE ($1::text IS NULL OR team_id = $1) AND CASE WHEN status = $2 THEN true ELSE $2::text IS NULL END
              AND parent_job_id IS NULL AND ($3::timestamptz IS NULL OR (created_at, job_id) < ($3, $4::uuid))
            ORDER BY created_at DESC, job_id DESC LIMIT $5
            """,
            [PostgresBind(teamID), PostgresBind(status?.rawValue), PostgresBind(createdBefore), PostgresBind(idBefore), .int(limit)]
        )
    }

    public func calls(_ jobID: UUID) async throws -> [JobCall] {
        let rows = try await postgres.query(
            """
            SELECT call_id, job_id, step, step_index, model, provider, attempt, status_code, error_class, error, upstream_request_id,
                   prompt_tokens, completion_tokens, cost_usd, latency_ms, billed, created_at
            FROM job_calls
            -- The job's own, and a step-by-step job's calls' (as one array, so the job_id index serves both).
            WHERE job_id = ANY(ARRAY[$1::uuid] || ARRAY(SELECT job_id FROM jobs WHERE parent_job_id = $1))
            ORDER BY created_at, step_index, attempt
            """,
            [.uuid(jobID)]
        )
        return try rows.map { row in
            JobCall(
                callID: try row.decode("call_id"),
                jobID: try row.decode("job_id"),
                step: try row.decode("step"),
                stepIndex: try row.decode("step_index"),
                model: try row.decode("model"),
                provider: try row.decode("provider"),
                attempt: try row.decode("attempt"),
                statusCode: try row.decodeIfPresent("status_code"),
                errorClass: try row.decodeIfPresent("error_class"),
                error: try row.decodeIfPresent("error"),
                upstreamRequestID: try row.decodeIfPresent("upstream_request_id"),
                usage: TokenUsage(promptTokens: try row.decode("prompt_tokens"), completionTokens: try row.decode("completion_tokens")),
                costUSD: try row.decode("cost_usd"),
                latencyMS: try row.decode("latency_ms"),
                billed: try row.decode("billed"),
                createdAt: try row.decode("created_at")
            )
        }
    }

    public func queueStats() async throws -> [TeamQueueStats] {
        let rows = try await postgres.query(
            """
            SELECT team_id,
                   count(*) FILTER (WHERE status = 'queued' AND (retry_at IS NULL OR retry_at <= now())) AS queued,
                   count(*) FILTER (WHERE status = 'queued' AND retry_at > now()) AS scheduled,
                   count(*) FILTER (WHERE status IN ('in_progress', 'cancelling')) AS in_progress,
                   min(created_at) FILTER (WHERE status = 'queued') AS oldest
            FROM jobs WHERE status IN ('queued', 'in_progress', 'cancelling') AND model_group IS NOT NULL
            GROUP BY team_id ORDER BY team_id
            """
        )
        return try rows.map { row in
            TeamQueueStats(
                teamID: try row.decode("team_id"),
                queued: try row.decode("queued"),
                scheduled: try row.decode("scheduled"),
                inProgress: try row.decode("in_progress"),
                oldestQueuedAt: try row.decodeIfPresent("oldest")
            )
        }
    }

    static func decodeJob(_ row: PostgresRow) throws -> Job {
        let prompt: Int? = try row.decodeIfPresent("prompt_tokens")
        let completion: Int? = try row.decodeIfPresent("completion_tokens")
        let result = try row.decodeIfPresent("result", as: PostgresJSON.self)?.value
        return Job(
            jobID: try row.decode("job_id"),
            teamID: try row.decode("team_id"),
            jobType: try row.decode("job_type"),
            userID: try row.decodeIfPresent("user_id"),
            status: JobStatus(rawValue: try row.decode("status")) ?? .failed,
            priority: try row.decode("priority"),
            modelGroup: try row.decodeIfPresent("model_group"),
            metadata: .fromJSON(try row.decodeIfPresent("metadata")),
            creditsReserved: try row.decode("credits_reserved"),
            creditsCharged: try row.decode("credits_charged"),
            attempts: try row.decode("attempts"),
            callsDone: try row.decode("calls_done"),
            callsPlanned: try row.decode("calls_planned"),
            result: result,
            usage: prompt.map { TokenUsage(promptTokens: $0, completionTokens: completion ?? 0) },
            costUSD: try row.decodeIfPresent("cost_usd"),
            errorCode: try row.decodeIfPresent("error_code", as: String.self).flatMap(JobErrorCode.init(rawValue:)),
            errorMessage: try row.decodeIfPresent("error_message"),
            createdAt: try row.decode("created_at"),
            startedAt: try row.decodeIfPresent("started_at"),
            completedAt: try row.decodeIfPresent("completed_at"),
            expiresAt: try row.decode("expires_at"),
            contentErasedAt: try row.decodeIfPresent("content_erased_at")
        )
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
