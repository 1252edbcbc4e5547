public import Foundation
import Postgres

/// The step-by-step flow on PostgreSQL (``StepJobStore``). Lock order as everywhere else: jobs
/// first, then the team's account; `complete` locks only the job (a call that is still running is
/// a refusal, not a wait), so it never waits on a worker's settlement.
extension PostgresJobStore: StepJobStore {
    /// How many calls one job may have: each is a row to read back with the job's costs.
    public static let maximumCallsPerJob = 1_000

    public func queueCall(_ request: CallRequest) async throws -> (call: QueuedJob, creditsReserved: Int) {
        try await postgres.withTransaction(kind: .submit) { tx in
            let job = try await Self.lockContainer(request.jobID, teamID: request.teamID, tx)
            guard !job.status.isTerminal, job.status != .cancelling else { throw DomainError.jobAlreadyTerminal(job.status) }
            // Past its expiry the sweeper is about to end it: a call now would reserve and expire at once.
            guard job.expiresAt > Date() else { throw DomainError.jobAlreadyTerminal(.expired) }
            guard job.callsPlanned < Self.maximumCallsPerJob else { throw DomainError.callLimitReached(Self.maximumCallsPerJob) }
            // job_based: the job's one credit, at its first call; consumption: each call's most.
            let jobReserve = job.billing.budgetMode == .jobBased && job.creditsReserved == 0 ? 1 : 0
            let callReserve = job.billing.budgetMode == .jobBased ? 0 : Billing.reservation(request.estimate, job.billing)
            let remaining = try await LedgerWriter.lockAccounts([job.teamID], tx)[job.teamID] ?? 0
            guard jobReserve + callReserve <= remaining else {
                throw DomainError.insufficientCredits(remaining: remaining, needed: jobReserve + callReserve)
            }
            try await tx.query(
                """
                INSERT INTO jobs (job_id, team_id, job_type, user_id, status, priority, model_group, request, metadata, budget_mode,
                                  tokens_per_credit, credits_per_dollar, credits_reserved, reservation_number, calls_planned,
                                  expires_at, parent_job_id)
                SELECT $1, team_id, job_type, user_id, 'queued', priority, $2, $3::text::jsonb, '{}'::jsonb, budget_mode,
                       tokens_per_credit, credits_per_dollar, $4, 1, 1, expires_at, job_id
                FROM jobs WHERE job_id = $5
                """,
                [.uuid(request.callID), .text(request.modelGroup), .text(JSONText.encode(request.work)), .int(callReserve), .uuid(request.jobID)]
            )
            try await tx.query(
                """
                UPDATE jobs SET status = 'in_progress', started_at = COALESCE(started_at, now()), calls_planned = calls_planned + 1,
                       credits_reserved = credits_reserved + $2,
                       reservation_number = CASE WHEN $2 > 0 THEN reservation_number + 1 ELSE reservation_number END,
                       updated_at = now()
                WHERE job_id = $1
                """,
                [.uuid(request.jobID), .int(jobReserve)]
            )
            let moves = [
                LedgerWriter.Move(teamID: job.teamID, jobID: request.callID, reservationNumber: 1, reserve: callReserve),
                LedgerWriter.Move(teamID: job.teamID, jobID: request.jobID, reservationNumber: job.reservationNumber + 1, reserve: jobReserve),
            ]
            try await LedgerWriter.write(LedgerPosting(moves.filter { !$0.isEmpty }, remaining: [job.teamID: remaining]), tx)
            return (QueuedJob(jobID: request.callID, teamID: job.teamID, priority: job.priority), callReserve + jobReserve)
        }
    }

    public func stepCall(_ callID: UUID, of jobID: UUID) async throws -> StepCall? {
        try await postgres.withConnection { try await Self.readCalls(of: jobID, only: callID, $0) }.first
    }

    public func stepCalls(of jobID: UUID) async throws -> [StepCall] {
        try await postgres.withConnection { try await Self.readCalls(of: jobID, only: nil, $0) }
    }

    public func complete(
        _ jobID: UUID,
        teamID: String,
        ending: StepSettlementPlan.Ending,
        metadata: JSONObject?,
        errorMessage: String?
    ) async throws -> StepCompletion {
        try await postgres.withTransaction { tx in
            let job = try await Self.lockContainer(jobID, teamID: teamID, tx)
            var tally: SettlementTally?
            switch job.status {
            case .completed, .failed:
                // Completed before: the same answer, nothing charged again.
                break
            case .cancelled, .expired, .cancelling:
                throw DomainError.jobAlreadyTerminal(job.status)
            case .pending, .queued, .inProgress:
                let calls = try await Self.readCalls(of: jobID, only: nil, tx)
                guard !calls.contains(where: { !$0.status.isTerminal }) else { throw DomainError.callsInFlight }
                tally = try await Self.settle(job, calls: calls, ending: ending, metadata: metadata, errorMessage: errorMessage, tx)
            }
            let calls = try await Self.readCalls(of: jobID, only: nil, tx)
            guard let row = try await tx.query("SELECT \(Self.jobColumns) FROM jobs WHERE job_id = $1", [.uuid(jobID)]).first else {
                throw DomainError.jobNotFound
            }
            let settled = try Self.decodeJob(row)
            let remaining = try await Self.remaining(teamID, tx)
            // `jobColumns` already adds the calls' charges to a step-by-step job's own.
            let charged = settled.creditsCharged
            return StepCompletion(
                job: settled,
                calls: calls,
                costs: .steps(calls, settled: settled.status.isTerminal, creditsCharged: charged, creditsRemaining: remaining),
                settledNow: tally != nil,
                tally: tally ?? SettlementTally()
            )
        }
    }

    public func mergeMetadata(_ jobID: UUID, teamID: String, _ patch: JSONObject) async throws -> (metadata: JSONObject, updatedAt: Date) {
        try await postgres.withTransaction { tx in
            guard let row = try await tx.query("SELECT team_id, metadata FROM jobs WHERE job_id = $1 FOR UPDATE", [.uuid(jobID)]).first
            else { throw DomainError.jobNotFound }
            guard try row.decode("team_id", as: String.self) == teamID else { throw DomainError.jobOfAnotherTeam }
            let merged = JobMetadata.merged(.fromJSON(try row.decodeIfPresent("metadata")), patch)
            guard JobMetadata.fits(merged) else { throw DomainError.metadataTooLarge }
            let updated = try await tx.query(
                "UPDATE jobs SET metadata = $2::text::jsonb, updated_at = now() WHERE job_id = $1 RETURNING updated_at",
                [.uuid(jobID), .text(merged.jsonText())]
            )
            return (merged, try updated.first!.decode("updated_at"))
        }
    }

    /// One pooled connection at a time: holding one while waiting for another would let a burst of
    /// callers take the whole pool and wait on each other until the acquire timeout.
    public func costs(of job: Job) async throws -> JobCosts {
        let remaining = try await postgres.withConnection { try await Self.remaining(job.teamID, $0) }
        if job.modelGroup == nil {
            // `jobColumns` already adds the calls' charges to a step-by-step job's own.
            let calls = try await stepCalls(of: job.jobID)
            return .steps(calls, settled: job.status.isTerminal, creditsCharged: job.creditsCharged, creditsRemaining: remaining)
        }
        return .upstream(try await calls(job.jobID), modelGroup: job.modelGroup, creditsCharged: job.creditsCharged, creditsRemaining: remaining)
    }

    public func costs(of job: Job, calls: [JobCall]) async throws -> JobCosts {
        let remaining = try await postgres.withConnection { try await Self.remaining(job.teamID, $0) }
        return .upstream(calls, modelGroup: job.modelGroup, creditsCharged: job.creditsCharged, creditsRemaining: remaining)
    }

    // MARK: - Ending a step-by-step job

    /// Settles a step-by-step job that is ending (complete, cancel, expiry) with its calls: the
    /// ``StepSettlementPlan``'s charges on the calls and the job, the job's final row, the ledger.
    /// The job is locked by the caller; none of its calls is running. Answers what it came to: the
    /// job ended, and the charges of its calls and its own.
    @discardableResult
    static func settle(
        _ job: LockedContainer,
        calls: [StepCall],
        ending: StepSettlementPlan.Ending,
        metadata: JSONObject?,
        errorMessage: String?,
        _ tx: PostgresSession
    ) async throws -> SettlementTally {
        let plan = StepSettlementPlan(
            .init(jobID: job.jobID, teamID: job.teamID, creditsReserved: job.creditsReserved, reservationNumber: job.reservationNumber),
            completedCalls: completedCalls(calls),
            ending: ending,
            billing: job.billing
        )
        try await writeCallCharges(plan.callCharges, tx)
        let failedCalls = calls.contains { $0.status.isTerminal && $0.status != .completed }
        let code: JobErrorCode? =
            switch ending {
            case .completed: nil
            case .failed: failedCalls ? .upstreamError : .invalidRequest
            case .cancelled: .cancelled
            case .expired: .expired
            }
        let message: String? =
            switch ending {
            case .completed: nil
            case .failed: String((errorMessage ?? "The job was completed as failed").prefix(2000))
            case .cancelled: "The job was cancelled"
            case .expired: "The job expired before it could complete"
            }
        // A patch that would pass the bound is refused; the job's own metadata never is (a cancel
        // or an expiry must always go through).
        var merged: JSONObject?
        if let metadata {
            let all = JobMetadata.merged(job.metadata, metadata)
            guard JobMetadata.fits(all) else { throw DomainError.metadataTooLarge }
            merged = all
        }
        try await tx.query(
            """
            UPDATE jobs SET status = $2, completed_at = now(), credits_charged = $3, error_code = $4, error_message = $5,
                   metadata = COALESCE($6::text::jsonb, metadata),
                   prompt_tokens = $7, completion_tokens = $8, cost_usd = $9::text::numeric,
                   calls_done = $10, updated_at = now()
            WHERE job_id = $1
            """,
            [
                .uuid(job.jobID), .text(ending.status.rawValue), .int(plan.containerCharge), PostgresBind(code?.rawValue),
                PostgresBind(message), PostgresBind(merged?.jsonText()),
                .int(calls.reduce(0) { $0 + ($1.usage?.promptTokens ?? 0) }),
                .int(calls.reduce(0) { $0 + ($1.usage?.completionTokens ?? 0) }),
                .text(calls.reduce(Decimal(0)) { $0 + ($1.costUSD ?? 0) }.description),
                .int(calls.filter(\.status.isTerminal).count),
            ]
        )
        try await LedgerWriter.apply(plan.moves, tx)
        var tally = SettlementTally()
        tally.end(job.teamID, ending.status)
        tally.charge(plan.moves)
        return tally
    }

    /// Cancels the queued calls of a step-by-step job (found through `jobs_parent`; the status is
    /// tested inside `CASE`: see ``PostgresJobStore``, "Jobs found by id").
    static func cancelQueuedCallsStatement(parent jobID: UUID) -> PostgresStatement {
        PostgresStatement(
            """
            UPDATE jobs SET status = 'cancelled', error_code = 'cancelled', error_message = 'The job was cancelled',
                   completed_at = now(), retry_at = NULL, updated_at = now()
            WHERE parent_job_id = $1 AND CASE WHEN status = 'queued' THEN true ELSE false END
            RETURNING job_id, credits_reserved, reservation_number
            """,
            [.uuid(jobID)]
        )
    }

    /// Marks the running calls of a step-by-step job `cancelling`, as ``cancelQueuedCallsStatement(parent:)`` finds them.
    static func cancelRunningCallsStatement(parent jobID: UUID) -> PostgresStatement {
        PostgresStatement(
            """
            UPDATE jobs SET status = 'cancelling', updated_at = now()
            WHERE parent_job_id = $1 AND CASE WHEN status = 'in_progress' THEN true ELSE false END
            """,
            [.uuid(jobID)]
        )
    }

    /// Cancels a step-by-step job that has not ended: its queued calls are cancelled (their
    /// reservations released), its running calls are marked `cancelling` (their workers stop and
    /// settle them as cancelled), and the job settles as ``StepSettlementPlan/Ending/cancelled``.
    static func cancelContainer(_ jobID: UUID, _ tx: PostgresSession) async throws -> SettlementTally {
        // The calls before the job, in id order (see ``PostgresJobStore/cancel(_:)``).
        try await tx.query("SELECT job_id FROM jobs WHERE parent_job_id = $1 ORDER BY job_id FOR UPDATE", [.uuid(jobID)])
        let job = try await lockContainer(jobID, teamID: nil, tx)
        guard !job.status.isTerminal else { throw DomainError.jobAlreadyTerminal(job.status) }
        let cancelled = try await tx.query(cancelQueuedCallsStatement(parent: jobID))
        try await tx.query(cancelRunningCallsStatement(parent: jobID))
        try await LedgerWriter.apply(
            try cancelled.map { row in
                LedgerWriter.Move(
                    teamID: job.teamID,
                    jobID: try row.decode("job_id"),
                    reservationNumber: try row.decode("reservation_number"),
                    release: try row.decode("credits_reserved")
                )
            },
            tx
        )
        return try await settle(job, calls: try await readCalls(of: jobID, only: nil, tx), ending: .cancelled, metadata: nil, errorMessage: nil, tx)
    }

    /// The completed calls of step-by-step jobs that just expired, settled as
    /// ``StepSettlementPlan`` settles an expiry: charged for what they used (the tokens were
    /// spent) and released. The jobs' own reservations were released by the expiry itself.
    static func settleCompletedCalls(of jobIDs: [UUID], _ tx: PostgresSession) async throws -> [LedgerWriter.Move] {
        guard !jobIDs.isEmpty else { return [] }
        let rows = try await tx.query(
            """
            SELECT job_id, team_id, budget_mode, tokens_per_credit, credits_per_dollar FROM jobs
            WHERE job_id = ANY($1::uuid[]) ORDER BY job_id
            """,
            [.textArray(jobIDs.map(\.lowercasedString))]
        )
        var moves: [LedgerWriter.Move] = []
        for row in rows {
            let jobID: UUID = try row.decode("job_id")
            let calls = try await readCalls(of: jobID, only: nil, tx)
            let plan = StepSettlementPlan(
                .init(jobID: jobID, teamID: try row.decode("team_id"), creditsReserved: 0, reservationNumber: 0),
                completedCalls: completedCalls(calls),
                ending: .expired,
                billing: try BillingSettings(row: row)
            )
            try await writeCallCharges(plan.callCharges, tx)
            moves += plan.moves
        }
        return moves
    }

    /// The calls whose reservations a job's ending settles: completed, not settled yet.
    private static func completedCalls(_ calls: [StepCall]) -> [StepSettlementPlan.CompletedCall] {
        calls.filter { $0.status == .completed && $0.creditsCharged == 0 }.map {
            .init(callID: $0.callID, creditsReserved: $0.creditsReserved, reservationNumber: 1, usage: $0.usage ?? .zero, costUSD: $0.costUSD ?? 0)
        }
    }

    private static func writeCallCharges(_ charges: [UUID: Int], _ tx: PostgresSession) async throws {
        let charged = charges.filter { $0.value > 0 }
        guard !charged.isEmpty else { return }
        try await tx.query(
            """
            UPDATE jobs j SET credits_charged = c.charge, updated_at = now()
            FROM unnest($1::uuid[], $2::bigint[]) AS c(job_id, charge)
            WHERE j.job_id = ANY($1::uuid[]) AND j.job_id = c.job_id
            """,
            [.textArray(charged.keys.map(\.lowercasedString)), .textArray(charged.values.map(String.init))]
        )
    }

    /// A step-by-step job as `FOR UPDATE` locked it, after the checks every route makes.
    struct LockedContainer {
        var jobID: UUID
        var teamID: String
        var status: JobStatus
        var priority: Int
        var billing: BillingSettings
        var creditsReserved: Int
        var reservationNumber: Int
        var callsPlanned: Int
        var metadata: JSONObject
        var expiresAt: Date
    }

    /// Locks the job; refuses one that does not exist, belongs to another team or was submitted
    /// with its work (or is itself a call).
    static func lockContainer(_ jobID: UUID, teamID: String?, _ tx: PostgresSession) async throws -> LockedContainer {
        guard
            let row = try await tx.query(
                """
                SELECT job_id, team_id, status, priority, model_group, parent_job_id, budget_mode, tokens_per_credit,
                       credits_per_dollar, credits_reserved, reservation_number, calls_planned, metadata, expires_at
                FROM jobs WHERE job_id = $1 FOR UPDATE
                """,
                [.uuid(jobID)]
            ).first
        else { throw DomainError.jobNotFound }
        let owner: String = try row.decode("team_id")
        if let teamID, owner != teamID { throw DomainError.jobOfAnotherTeam }
        guard try row.decodeIfPresent("model_group", as: String.self) == nil, try row.decodeIfPresent("parent_job_id", as: UUID.self) == nil
        else { throw DomainError.notStepByStepJob }
        return LockedContainer(
            jobID: jobID,
            teamID: owner,
            status: JobStatus(rawValue: try row.decode("status")) ?? .failed,
            priority: try row.decode("priority"),
            billing: try BillingSettings(row: row),
            creditsReserved: try row.decode("credits_reserved"),
            reservationNumber: try row.decode("reservation_number"),
            callsPlanned: try row.decode("calls_planned"),
            metadata: .fromJSON(try row.decodeIfPresent("metadata")),
            expiresAt: try row.decode("expires_at")
        )
    }

    static func readCalls(of jobID: UUID, only callID: UUID?, _ session: PostgresSession) async throws -> [StepCall] {
        let rows = try await session.query(
            """
            SELECT c.job_id, c.parent_job_id, c.status, c.model_group, c.request->>'purpose' AS purpose,
                   COALESCE((c.request->>'stream')::boolean, false) AS stream, c.result, c.prompt_tokens,
                   c.completion_tokens, c.cost_usd, c.error_code, c.error_message, c.credits_reserved, c.credits_due,
                   c.credits_charged, c.created_at, c.completed_at, k.model AS model_used, k.latency_ms
            FROM jobs c
            LEFT JOIN LATERAL (
                SELECT model, latency_ms FROM job_calls WHERE job_id = c.job_id ORDER BY billed DESC, created_at DESC LIMIT 1
            ) k ON true
            WHERE c.parent_job_id = $1 AND ($2::uuid IS NULL OR c.job_id = $2)
            ORDER BY c.created_at, c.job_id
            """,
            [.uuid(jobID), PostgresBind(callID)]
        )
        return try rows.map { row in
            let prompt: Int? = try row.decodeIfPresent("prompt_tokens")
            let completion: Int? = try row.decodeIfPresent("completion_tokens")
            return StepCall(
                callID: try row.decode("job_id"),
                jobID: jobID,
                status: JobStatus(rawValue: try row.decode("status")) ?? .failed,
                modelGroup: try row.decode("model_group"),
                purpose: try row.decodeIfPresent("purpose"),
                stream: try row.decode("stream"),
                result: try row.decodeIfPresent("result", as: PostgresJSON.self)?.value,
                usage: prompt.map { TokenUsage(promptTokens: $0, completionTokens: completion ?? 0) },
                costUSD: try row.decodeIfPresent("cost_usd"),
                errorCode: try row.decodeIfPresent("error_code", as: String.self).flatMap(JobErrorCode.init(rawValue:)),
                errorMessage: try row.decodeIfPresent("error_message"),
                creditsReserved: try row.decode("credits_reserved"),
                creditsDue: try row.decodeIfPresent("credits_due"),
                creditsCharged: try row.decode("credits_charged"),
                modelUsed: try row.decodeIfPresent("model_used"),
                latencyMS: try row.decodeIfPresent("latency_ms"),
                createdAt: try row.decode("created_at"),
                completedAt: try row.decodeIfPresent("completed_at")
            )
        }
    }

    static func remaining(_ teamID: String, _ session: PostgresSession) async throws -> Int {
        try await session.query(
            "SELECT credits_allocated - credits_used - credits_reserved AS remaining FROM credit_accounts WHERE team_id = $1",
            [.text(teamID)]
        ).first?.decode("remaining") ?? 0
    }
}
