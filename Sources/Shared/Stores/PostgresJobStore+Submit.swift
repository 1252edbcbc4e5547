import Foundation
import Postgres

extension PostgresJobStore {
    /// Creates many jobs in one transaction: the teams' accounts are locked once, each job's
    /// reservation is decided against the balance left by the ones before it, and the jobs, the
    /// reservations and their ledger rows are written set-wise. If PostgreSQL refuses something
    /// one job carries, that job is found by halving the batch and fails alone (its error is its
    /// answer); the others still go through.
    public func submit(_ submissions: [JobSubmission]) async throws -> [Result<SubmitOutcome, any Error>] {
        try await BatchIsolation.run(
            submissions,
            isItemError: { ($0 as? PostgresError)?.isStatementError ?? false },
            batch: { try await submitBatch($0).map { .success($0) } },
            alone: { _, error in .failure(error) }
        )
    }

    /// Read → plan → write: lock the accounts and read earlier jobs under the same keys (one
    /// pipeline), decide every reservation in a ``ReservationPlan``, then write its jobs and its
    /// ledger posting together with COMMIT (a second pipeline). Two round trips (BEGIN goes with the first),
    /// whatever the batch's size; the accounts are held for one of them after their lock.
    private func submitBatch(_ submissions: [JobSubmission]) async throws -> [SubmitOutcome] {
        let prepared = PreparedJobRows(submissions)
        if let outcomes = try await submitInOneTrip(submissions, prepared: prepared) { return outcomes }
        return try await postgres.withPipelinedTransaction(kind: .submit) { tx in
            let earlierRead = Self.earlierJobsStatement(of: submissions)
            let read = try await tx.pipeline([Self.lockAccountsStatement(of: submissions)] + [earlierRead].compactMap { $0 })
            let accounts = try Self.accounts(read[0])
            let earlier = earlierRead == nil ? [:] : try Self.earlierJobs(read[1])
            let plan = ReservationPlan(submissions.map(Self.reservationRequest), accounts: accounts, earlier: earlier)
            let insert = Self.insertJobsStatement(plan, submissions, prepared)
            let writes = [insert, LedgerWriter.statement(plan.posting)].compactMap { $0 }
            return PostgresCommit(writes) { rows in
                submitPaths.record(.locking)
                accountHints.keep(accounts, reserved: plan.posting.reservedByTeam)
                let createdAt = insert == nil ? [:] : try Self.createdAt(rows[0])
                return Self.outcomes(plan, submissions, createdAt: createdAt)
            }
        }
    }

    /// Locks the submitters' accounts (in team order, so concurrent submitters never deadlock)
    /// and reads their balances and rates as they are now.
    static func lockAccounts(of submissions: [JobSubmission], _ tx: PostgresSession) async throws -> [String: ReservationPlan.Account] {
        try accounts(try await tx.query(lockAccountsStatement(of: submissions)))
    }

    /// The statement of ``lockAccounts(of:_:)``; ``accounts(_:)`` reads its answer.
    static func lockAccountsStatement(of submissions: [JobSubmission]) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT a.team_id, a.credits_allocated - a.credits_used - a.credits_reserved AS remaining,
                   t.budget_mode, t.tokens_per_credit, t.credits_per_dollar
            FROM credit_accounts a JOIN teams t ON t.team_id = a.team_id
            WHERE a.team_id = ANY($1::text[]) ORDER BY a.team_id FOR UPDATE OF a
            """,
            [.textArray(Set(submissions.map(\.teamID)).sorted())]
        )
    }

    static func accounts(_ rows: PostgresRows) throws -> [String: ReservationPlan.Account] {
        var accounts: [String: ReservationPlan.Account] = [:]
        for row in rows {
            accounts[try row.decode("team_id")] = ReservationPlan.Account(
                remaining: try row.decode("remaining"),
                billing: try BillingSettings(row: row)
            )
        }
        return accounts
    }

    /// Jobs created earlier under the submissions' Idempotency-Keys (nil: none has a key). Sent
    /// after the accounts' lock in the same pipeline, which orders this read after any concurrent
    /// submitter of the same team; ``earlierJobs(_:)`` reads its answer.
    private static func earlierJobsStatement(of submissions: [JobSubmission]) -> PostgresStatement? {
        let keyed = submissions.filter { $0.idempotencyKey != nil }
        guard !keyed.isEmpty else { return nil }
        return PostgresStatement(
            """
            SELECT job_id, team_id, idempotency_key, request_hash, status, created_at, credits_reserved, model_group
            FROM jobs WHERE (team_id, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            """,
            [.textArray(keyed.map(\.teamID)), .textArray(keyed.map(\.idempotencyKey))]
        )
    }

    private static func earlierJobs(_ rows: PostgresRows) throws -> [ReservationPlan.IdempotencyScope: ReservationPlan.EarlierJob] {
        var earlier: [ReservationPlan.IdempotencyScope: ReservationPlan.EarlierJob] = [:]
        for row in rows {
            earlier[ReservationPlan.IdempotencyScope(teamID: try row.decode("team_id"), key: try row.decode("idempotency_key"))] =
                ReservationPlan.EarlierJob(
                    jobID: try row.decode("job_id"),
                    requestHash: try row.decodeIfPresent("request_hash", as: PostgresBytes.self)?.bytes,
                    status: JobStatus(rawValue: try row.decode("status")) ?? .queued,
                    createdAt: try row.decode("created_at"),
                    creditsReserved: try row.decode("credits_reserved"),
                    pending: try row.decodeIfPresent("model_group", as: String.self) == nil
                )
        }
        return earlier
    }

    static func reservationRequest(_ submission: JobSubmission) -> ReservationPlan.Request {
        ReservationPlan.Request(
            jobID: submission.jobID,
            teamID: submission.teamID,
            estimate: submission.estimate,
            idempotencyKey: submission.idempotencyKey,
            requestHash: submission.requestHash
        )
    }

    /// A job created without work waits as `pending` (reservation 0) until its work arrives.
    static func initialStatus(_ submission: JobSubmission) -> JobStatus {
        submission.modelGroup == nil ? .pending : .queued
    }

    /// Writes the plan's new jobs in one statement, each with its reservation and a copy of the
    /// rates it was priced at; returns their creation times.
    static func insertJobs(
        _ plan: ReservationPlan,
        _ submissions: [JobSubmission],
        _ prepared: PreparedJobRows,
        _ tx: PostgresSession
    ) async throws -> [UUID: Date] {
        guard let statement = insertJobsStatement(plan, submissions, prepared) else { return [:] }
        return try createdAt(try await tx.query(statement))
    }

    /// The creation times that ``insertJobsStatement(_:_:_:)`` answers, by job.
    static func createdAt(_ rows: PostgresRows) throws -> [UUID: Date] {
        var createdAt: [UUID: Date] = [:]
        for row in rows { createdAt[try row.decode("job_id")] = try row.decode("created_at") }
        return createdAt
    }

    /// The statement of ``insertJobs(_:_:_:_:)``; nil when the plan accepted no job.
    static func insertJobsStatement(_ plan: ReservationPlan, _ submissions: [JobSubmission], _ prepared: PreparedJobRows) -> PostgresStatement? {
        guard !plan.accepted.isEmpty else { return nil }
        func column(_ value: (JobSubmission, ReservationPlan.Reservation) -> String?) -> PostgresBind {
            .textArray(plan.accepted.map { value(submissions[$0.index], $0) })
        }
        func preparedColumn(_ values: [String?]) -> PostgresBind {
            .textArray(plan.accepted.map { values[$0.index] })
        }
        return PostgresStatement(
            """
            INSERT INTO jobs (job_id, team_id, job_type, user_id, status, priority, model_group, request, metadata,
                              budget_mode, tokens_per_credit, credits_per_dollar, credits_reserved, reservation_number,
                              calls_planned, idempotency_key, request_hash, expires_at, webhook)
            SELECT j.job_id, j.team_id, j.job_type, j.user_id, j.status, j.priority, j.model_group, j.request, j.metadata,
                   j.budget_mode, j.tokens_per_credit, j.credits_per_dollar, j.credits_reserved, j.reservation_number,
                   j.calls_planned, j.idempotency_key, decode(j.request_hash, 'hex'), j.expires_at, j.webhook
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[],
                        $7::text[], $8::jsonb[], $9::jsonb[], $10::text[], $11::int[],
                        $12::numeric[], $13::bigint[], $14::int[], $15::int[],
                        $16::text[], $17::text[], $18::timestamptz[], $19::boolean[])
              AS j(job_id, team_id, job_type, user_id, status, priority, model_group, request, metadata, budget_mode,
                   tokens_per_credit, credits_per_dollar, credits_reserved, reservation_number, calls_planned,
                   idempotency_key, request_hash, expires_at, webhook)
            RETURNING job_id, created_at
            """,
            [
                column { s, _ in s.jobID.lowercasedString },
                column { s, _ in s.teamID },
                column { s, _ in s.jobType },
                column { s, _ in s.userID },
                column { s, _ in initialStatus(s).rawValue },
                column { s, _ in String(s.priority) },
                column { s, _ in s.modelGroup },
                preparedColumn(prepared.requests),
                preparedColumn(prepared.metadata),
                column { _, r in r.billing.budgetMode.rawValue },
                column { _, r in String(r.billing.tokensPerCredit) },
                column { _, r in r.billing.creditsPerDollar.description },
                column { _, r in String(r.credits) },
                column { s, _ in s.modelGroup == nil ? "0" : "1" },
                column { s, _ in String(s.callsPlanned) },
                column { s, _ in s.idempotencyKey },
                column { s, _ in s.requestHash.map(hex) },
                preparedColumn(prepared.expiresAt),
                column { s, _ in s.webhook ? "true" : "false" },
            ]
        )
    }

    /// The plan's decisions as answers. A repeat within the batch answers as the job it repeats,
    /// now written.
    static func outcomes(_ plan: ReservationPlan, _ submissions: [JobSubmission], createdAt: [UUID: Date]) -> [SubmitOutcome] {
        var outcomes: [SubmitOutcome] = []
        outcomes.reserveCapacity(submissions.count)
        for (submission, decision) in zip(submissions, plan.decisions) {
            switch decision {
            case .reserve(let credits, _):
                outcomes.append(
                    .created(
                        jobID: submission.jobID,
                        status: initialStatus(submission),
                        createdAt: createdAt[submission.jobID] ?? Date(),
                        creditsReserved: credits
                    )
                )
            case .replay(let job):
                outcomes.append(
                    .replayed(
                        jobID: job.jobID,
                        status: job.status,
                        createdAt: job.createdAt,
                        creditsReserved: job.creditsReserved,
                        wasPending: job.pending
                    )
                )
            case .repeatOf(let first):
                guard case .created(let jobID, let status, let createdAt, let reserved) = outcomes[first] else {
                    outcomes.append(.teamNotFound)
                    continue
                }
                outcomes.append(
                    .replayed(jobID: jobID, status: status, createdAt: createdAt, creditsReserved: reserved, wasPending: status == .pending)
                )
            case .idempotencyConflict:
                outcomes.append(.idempotencyConflict)
            case .insufficientCredits(let remaining, let needed):
                outcomes.append(.insufficientCredits(remaining: remaining, needed: needed))
            case .teamNotFound:
                outcomes.append(.teamNotFound)
            }
        }
        return outcomes
    }
}
