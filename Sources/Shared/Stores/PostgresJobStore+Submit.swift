import Foundation

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

    private struct Existing {
        var jobID: UUID
        var requestHash: [UInt8]?
        var status: JobStatus
        var createdAt: Date
        var creditsReserved: Int
        var pending: Bool
    }

    private func submitBatch(_ submissions: [JobSubmission]) async throws -> [SubmitOutcome] {
        try await postgres.withTransaction { tx in
            // 1. Lock the accounts (team order) and read the rates as they are now.
            let teamIDs = Set(submissions.map(\.teamID)).sorted()
            let accounts = try await tx.query(
                """
                SELECT a.team_id, a.credits_allocated - a.credits_used - a.credits_reserved AS remaining,
                       t.budget_mode, t.tokens_per_credit, t.credits_per_dollar
                FROM credit_accounts a JOIN teams t ON t.team_id = a.team_id
                WHERE a.team_id = ANY($1::text[]) ORDER BY a.team_id FOR UPDATE OF a
                """,
                [.textArray(teamIDs)]
            )
            var remaining: [String: Int] = [:]
            var billing: [String: BillingSettings] = [:]
            for row in accounts {
                let team: String = try row.decode("team_id")
                remaining[team] = try row.decode("remaining")
                billing[team] = BillingSettings(
                    budgetMode: BudgetMode(rawValue: try row.decode("budget_mode")) ?? .jobBased,
                    tokensPerCredit: try row.decode("tokens_per_credit"),
                    creditsPerDollar: try row.decode("credits_per_dollar")
                )
            }

            let lockedRemaining = remaining

            // 2. Earlier jobs under the same Idempotency-Keys (the lock above orders us after any
            //    concurrent submitter of the same team).
            let keyed = submissions.filter { $0.idempotencyKey != nil }
            var existing: [String: Existing] = [:]
            if !keyed.isEmpty {
                let rows = try await tx.query(
                    """
                    SELECT job_id, team_id, idempotency_key, request_hash, status, created_at, credits_reserved, model_group
                    FROM jobs WHERE (team_id, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                    """,
                    [.textArray(keyed.map(\.teamID)), .textArray(keyed.map(\.idempotencyKey))]
                )
                for row in rows {
                    let key = "\(try row.decode("team_id", as: String.self))\u{0}\(try row.decode("idempotency_key", as: String.self))"
                    existing[key] = Existing(
                        jobID: try row.decode("job_id"),
                        requestHash: try row.decodeIfPresent("request_hash", as: PostgresBytes.self)?.bytes,
                        status: JobStatus(rawValue: try row.decode("status")) ?? .queued,
                        createdAt: try row.decode("created_at"),
                        creditsReserved: try row.decode("credits_reserved"),
                        pending: try row.decodeIfPresent("model_group", as: String.self) == nil
                    )
                }
            }

            // 3. Decide, in order.
            var outcomes: [SubmitOutcome?] = Array(repeating: nil, count: submissions.count)
            var accepted: [(index: Int, submission: JobSubmission, reserve: Int, billing: BillingSettings)] = []
            var firstInBatch: [String: Int] = [:]  // scoped key → index of the accepted job
            var twins: [(index: Int, first: Int)] = []
            for (index, submission) in submissions.enumerated() {
                guard let teamBilling = billing[submission.teamID] else {
                    outcomes[index] = .teamNotFound
                    continue
                }
                let scoped = submission.idempotencyKey.map { "\(submission.teamID)\u{0}\($0)" }
                if let scoped, let earlier = existing[scoped] {
                    outcomes[index] = earlier.requestHash == submission.requestHash
                        ? .replayed(jobID: earlier.jobID, status: earlier.status, createdAt: earlier.createdAt,
                                    creditsReserved: earlier.creditsReserved, wasPending: earlier.pending)
                        : .idempotencyConflict
                    continue
                }
                if let scoped, let first = firstInBatch[scoped] {
                    twins.append((index, first))
                    continue
                }
                let reserve = submission.estimate.map { Billing.reservation($0, teamBilling) } ?? 0
                let left = remaining[submission.teamID, default: 0]
                guard reserve <= left else {
                    outcomes[index] = .insufficientCredits(remaining: left, needed: reserve)
                    continue
                }
                remaining[submission.teamID] = left - reserve
                accepted.append((index, submission, reserve, teamBilling))
                if let scoped { firstInBatch[scoped] = index }
            }

            // 4. Write the jobs, then their reservations and ledger rows.
            if !accepted.isEmpty {
                func column(_ value: (JobSubmission, Int, BillingSettings) -> String?) -> PostgresBind {
                    .textArray(accepted.map { value($0.submission, $0.reserve, $0.billing) })
                }
                let rows = try await tx.query(
                    """
                    INSERT INTO jobs (job_id, team_id, job_type, user_id, status, priority, model_group, request, metadata,
                                      budget_mode, tokens_per_credit, credits_per_dollar, credits_reserved, reservation_number,
                                      calls_planned, idempotency_key, request_hash, expires_at)
                    SELECT j.job_id, j.team_id, j.job_type, j.user_id, j.status, j.priority, j.model_group, j.request, j.metadata,
                           j.budget_mode, j.tokens_per_credit, j.credits_per_dollar, j.credits_reserved, j.reservation_number,
                           j.calls_planned, j.idempotency_key, decode(j.request_hash, 'hex'), j.expires_at
                    FROM unnest($1::text[]::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]::smallint[],
                                $7::text[], $8::text[]::jsonb[], $9::text[]::jsonb[], $10::text[], $11::text[]::int[],
                                $12::text[]::numeric[], $13::text[]::bigint[], $14::text[]::int[], $15::text[]::int[],
                                $16::text[], $17::text[], $18::text[]::timestamptz[])
                      AS j(job_id, team_id, job_type, user_id, status, priority, model_group, request, metadata, budget_mode,
                           tokens_per_credit, credits_per_dollar, credits_reserved, reservation_number, calls_planned,
                           idempotency_key, request_hash, expires_at)
                    RETURNING job_id, created_at
                    """,
                    [
                        column { s, _, _ in s.jobID.lowercasedString },
                        column { s, _, _ in s.teamID },
                        column { s, _, _ in s.jobType },
                        column { s, _, _ in s.userID },
                        column { s, _, _ in s.modelGroup == nil ? JobStatus.pending.rawValue : JobStatus.queued.rawValue },
                        column { s, _, _ in String(s.priority) },
                        column { s, _, _ in s.modelGroup },
                        column { s, _, _ in s.work.map { JSONText.encode($0) } },
                        column { s, _, _ in s.metadata.jsonText() },
                        column { _, _, b in b.budgetMode.rawValue },
                        column { _, _, b in String(b.tokensPerCredit) },
                        column { _, _, b in b.creditsPerDollar.description },
                        column { _, r, _ in String(r) },
                        column { s, _, _ in s.modelGroup == nil ? "0" : "1" },
                        column { s, _, _ in String(s.callsPlanned) },
                        column { s, _, _ in s.idempotencyKey },
                        column { s, _, _ in s.requestHash.map(Self.hex) },
                        column { s, _, _ in PostgresTimestamp.format(s.expiresAt) },
                    ]
                )
                var createdAt: [UUID: Date] = [:]
                for row in rows { createdAt[try row.decode("job_id")] = try row.decode("created_at") }
                try await LedgerWriter.apply(
                    accepted.map { LedgerWriter.Move(teamID: $0.submission.teamID, jobID: $0.submission.jobID, reservationNumber: 1, reserve: $0.reserve) },
                    tx, locked: lockedRemaining
                )
                for entry in accepted {
                    let status: JobStatus = entry.submission.modelGroup == nil ? .pending : .queued
                    outcomes[entry.index] = .created(
                        jobID: entry.submission.jobID, status: status, createdAt: createdAt[entry.submission.jobID] ?? Date(),
                        creditsReserved: entry.reserve
                    )
                }
            }

            // 5. Twins within the batch answer as their first did (or conflict on another body).
            for twin in twins {
                guard case .created(let jobID, let status, let createdAt, let reserved) = outcomes[twin.first] else { continue }
                outcomes[twin.index] = submissions[twin.first].requestHash == submissions[twin.index].requestHash
                    ? .replayed(jobID: jobID, status: status, createdAt: createdAt, creditsReserved: reserved, wasPending: status == .pending)
                    : .idempotencyConflict
            }
            return outcomes.map { $0 ?? .teamNotFound }
        }
    }
}
