import Foundation

extension PostgresJobStore {
    /// Marks claimed jobs `in_progress` under their lease tokens, in one statement. A job already
    /// `in_progress` is taken over (its old delivery lost the lease and can no longer settle).
    public func markInProgress(_ claims: [Claim], workerID: String, lease: Duration) async throws -> ([ClaimedJob], MarkRejections) {
        guard !claims.isEmpty else { return ([], MarkRejections()) }
        return try await postgres.withTransaction { tx in
            let rows = try await tx.query(
                """
                UPDATE jobs j SET status = 'in_progress', lease_token = c.token,
                       lease_expires_at = now() + make_interval(secs => $3), worker_id = $4,
                       started_at = COALESCE(j.started_at, now()), retry_at = NULL, updated_at = now()
                FROM unnest($1::text[]::uuid[], $2::text[]::uuid[]) AS c(job_id, token), teams t
                WHERE j.job_id = ANY($1::text[]::uuid[]) AND j.job_id = c.job_id
                  AND j.status IN ('queued', 'in_progress') AND j.model_group IS NOT NULL
                  AND t.team_id = j.team_id AND t.status = 'active'
                RETURNING j.job_id, j.team_id, j.model_group, j.request, j.budget_mode, j.tokens_per_credit,
                          j.credits_per_dollar, j.credits_reserved, j.attempts, j.expires_at, j.lease_token, j.reservation_number
                """,
                [.textArray(claims.map(\.jobID.lowercasedString)), .textArray(claims.map(\.token.lowercasedString)),
                 .double(Double(lease.milliseconds) / 1000), .text(workerID)]
            )
            var marked: [ClaimedJob] = []
            for row in rows {
                let work = try JSONDecoder().decode(JobWork.self, from: row.decode("request", as: PostgresJSON.self).data)
                marked.append(ClaimedJob(
                    claim: Claim(jobID: try row.decode("job_id"), token: try row.decode("lease_token")),
                    teamID: try row.decode("team_id"),
                    modelGroup: try row.decode("model_group"),
                    work: work,
                    billing: BillingSettings(
                        budgetMode: BudgetMode(rawValue: try row.decode("budget_mode")) ?? .jobBased,
                        tokensPerCredit: try row.decode("tokens_per_credit"),
                        creditsPerDollar: try row.decode("credits_per_dollar")
                    ),
                    creditsReserved: try row.decode("credits_reserved"),
                    reservationNumber: try row.decode("reservation_number"),
                    attempts: try row.decode("attempts"),
                    expiresAt: try row.decode("expires_at")
                ))
            }
            var rejections = MarkRejections()
            let markedIDs = Set(marked.map(\.claim.jobID))
            let others = claims.filter { !markedIDs.contains($0.jobID) }
            if !others.isEmpty {
                let states = try await tx.query(
                    """
                    SELECT j.job_id, j.status, t.status AS team_status FROM jobs j JOIN teams t ON t.team_id = j.team_id
                    WHERE j.job_id = ANY($1::text[]::uuid[])
                    """,
                    [.textArray(others.map(\.jobID.lowercasedString))]
                )
                var parkable = Set<UUID>()
                for row in states {
                    let status: String = try row.decode("status")
                    let teamStatus: String = try row.decode("team_status")
                    if teamStatus == TeamStatus.suspended.rawValue && (status == "queued" || status == "in_progress") {
                        parkable.insert(try row.decode("job_id"))
                    }
                }
                for claim in others {
                    if parkable.contains(claim.jobID) { rejections.parked.append(claim) } else { rejections.finished.append(claim) }
                }
            }
            return (marked, rejections)
        }
    }

    /// Settles many deliveries in one transaction. Each settlement applies only if its lease
    /// token still holds the job and the job is not terminal; a cancel recorded meanwhile turns
    /// a result into `cancelled`. Money moves only for the jobs that settled, and each job's
    /// calls are recorded whatever happened — billed only for the delivery that completed it.
    public func settle(_ settlements: [Settlement]) async throws -> [SettleResult] {
        // Something one settlement carries that PostgreSQL refuses (text it cannot store, a
        // number out of range) must not fail its neighbours, nor come back forever: that
        // delivery settles alone as a failure with nothing from outside in it.
        try await BatchIsolation.run(
            settlements,
            isItemError: { ($0 as? PostgresError)?.isStatementError ?? false },
            batch: { try await settleBatch($0) },
            alone: { settlement, error in try await settleBatch([settlement.unstorable(because: error)])[0] }
        )
    }

    private func settleBatch(_ settlements: [Settlement]) async throws -> [SettleResult] {
        try await postgres.withTransaction { tx in
            var status: [String?] = [], result: [String?] = [], prompt: [String?] = [], completion: [String?] = []
            var cost: [String?] = [], charge: [String?] = [], errorCode: [String?] = [], errorMessage: [String?] = []
            var attemptIncrement: [String?] = [], calls: [String?] = [], delay: [String?] = []
            for settlement in settlements {
                var row: (String, String?, Int?, Int?, Decimal?, Int, String?, String?, Int) = ("failed", nil, nil, nil, nil, 0, nil, nil, 0)
                switch settlement.outcome {
                case .completed(let value, let usage, let costUSD, let credits):
                    row = ("completed", JSONText.encode(value), usage.promptTokens, usage.completionTokens, costUSD, credits, nil, nil, 0)
                case .failed(let code, let message):
                    row = ("failed", nil, nil, nil, nil, 0, code.rawValue, String(message.prefix(2000)), 0)
                case .expired:
                    row = ("expired", nil, nil, nil, nil, 0, JobErrorCode.expired.rawValue, "The job expired before it could complete", 0)
                case .retry(let after, _, let message):
                    row = ("queued", nil, nil, nil, nil, 0, nil, message.map { String($0.prefix(2000)) }, max(0, after.milliseconds))
                }
                status.append(row.0)
                result.append(row.1)
                prompt.append(row.2.map(String.init))
                completion.append(row.3.map(String.init))
                cost.append(row.4.map { $0.description })
                charge.append(String(row.5))
                errorCode.append(row.6)
                errorMessage.append(row.7)
                delay.append(String(row.8))
                var counts = settlement.reachedUpstream
                if case .retry(_, let countsAttempt, _) = settlement.outcome { counts = counts && countsAttempt }
                attemptIncrement.append(counts ? "1" : "0")
                calls.append(String(settlement.progress))
            }
            let rows = try await tx.query(
                """
                WITH o AS (
                    SELECT * FROM unnest($1::text[]::uuid[], $2::text[]::uuid[], $3::text[], $4::text[]::jsonb[], $5::text[]::bigint[],
                                         $6::text[]::bigint[], $7::text[]::numeric[], $8::text[]::bigint[], $9::text[], $10::text[],
                                         $11::text[]::int[], $12::text[]::int[], $13::text[]::bigint[])
                      AS o(job_id, token, status, result, prompt_tokens, completion_tokens, cost_usd, charge, error_code,
                           error_message, attempt_increment, calls, delay_ms)
                ), t AS (
                    SELECT o.*, CASE WHEN j.status = 'cancelling' THEN 'cancelled' ELSE o.status END AS final
                    FROM jobs j JOIN o ON o.job_id = j.job_id
                    WHERE j.job_id = ANY($1::text[]::uuid[]) AND j.lease_token = o.token AND j.status IN ('in_progress', 'cancelling')
                    FOR UPDATE OF j
                )
                UPDATE jobs j SET
                    status = t.final,
                    result = CASE WHEN t.final = 'completed' THEN t.result END,
                    prompt_tokens = CASE WHEN t.final = 'completed' THEN t.prompt_tokens END,
                    completion_tokens = CASE WHEN t.final = 'completed' THEN t.completion_tokens END,
                    cost_usd = CASE WHEN t.final = 'completed' THEN t.cost_usd END,
                    credits_charged = CASE WHEN t.final = 'completed' THEN LEAST(t.charge, j.credits_reserved) ELSE 0 END,
                    error_code = CASE WHEN t.final = 'cancelled' THEN 'cancelled'
                                      WHEN t.final IN ('failed', 'expired') THEN t.error_code END,
                    error_message = CASE WHEN t.final = 'cancelled' THEN 'The job was cancelled'
                                         WHEN t.final IN ('failed', 'expired', 'queued') THEN t.error_message END,
                    attempts = j.attempts + t.attempt_increment,
                    calls_done = j.calls_done + t.calls,
                    retry_at = CASE WHEN t.final = 'queued' THEN now() + t.delay_ms * interval '1 millisecond' END,
                    completed_at = CASE WHEN t.final IN ('completed', 'failed', 'cancelled', 'expired') THEN now() END,
                    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
                FROM t WHERE j.job_id = t.job_id
                RETURNING j.job_id, j.team_id, j.status, j.credits_reserved, j.credits_charged, j.reservation_number
                """,
                [.textArray(settlements.map(\.claim.jobID.lowercasedString)), .textArray(settlements.map(\.claim.token.lowercasedString)),
                 .textArray(status), .textArray(result), .textArray(prompt), .textArray(completion), .textArray(cost), .textArray(charge),
                 .textArray(errorCode), .textArray(errorMessage), .textArray(attemptIncrement), .textArray(calls), .textArray(delay)]
            )
            var applied: [UUID: JobStatus] = [:]
            var moves: [LedgerWriter.Move] = []
            for row in rows {
                let jobID: UUID = try row.decode("job_id")
                let final = JobStatus(rawValue: try row.decode("status")) ?? .failed
                applied[jobID] = final
                if final.isTerminal {
                    moves.append(LedgerWriter.Move(
                        teamID: try row.decode("team_id"), jobID: jobID, reservationNumber: try row.decode("reservation_number"),
                        release: try row.decode("credits_reserved"), charge: try row.decode("credits_charged")
                    ))
                }
            }
            try await Self.recordCalls(settlements.flatMap { settlement in
                settlement.calls.map { call in
                    var call = call
                    call.billed = applied[settlement.claim.jobID] == .completed
                    return (call, settlement.claim.token)
                }
            }, tx)
            // The team's account row is locked last, so it is held for as short a time as can be.
            try await LedgerWriter.apply(moves, tx)
            return settlements.map { settlement in
                guard let final = applied[settlement.claim.jobID] else { return .lost }
                return final == .queued ? .requeued : .settled(final)
            }
        }
    }

    static func recordCalls(_ calls: [(JobCall, UUID)], _ session: PostgresSession) async throws {
        guard !calls.isEmpty else { return }
        func column(_ value: (JobCall) -> String?) -> PostgresBind { .textArray(calls.map { value($0.0) }) }
        try await session.query(
            """
            INSERT INTO job_calls (call_id, job_id, lease_token, step, step_index, model, provider, attempt, status_code, error_class,
                                   error, upstream_request_id, prompt_tokens, completion_tokens, cost_usd, latency_ms, billed, created_at)
            SELECT * FROM unnest($1::text[]::uuid[], $2::text[]::uuid[], $3::text[]::uuid[], $4::text[], $5::text[]::int[], $6::text[],
                                 $7::text[], $8::text[]::int[], $9::text[]::int[], $10::text[], $11::text[], $12::text[],
                                 $13::text[]::bigint[], $14::text[]::bigint[], $15::text[]::numeric[], $16::text[]::int[],
                                 $17::text[]::boolean[], $18::text[]::timestamptz[])
            ON CONFLICT (call_id) DO UPDATE SET billed = job_calls.billed OR EXCLUDED.billed
            """,
            [column { $0.callID.lowercasedString }, column { $0.jobID.lowercasedString }, .textArray(calls.map { $0.1.lowercasedString }),
             column { $0.step }, column { String($0.stepIndex) }, column { $0.model }, column { $0.provider }, column { String($0.attempt) },
             column { $0.statusCode.map(String.init) }, column { $0.errorClass }, column { $0.error.map { String($0.prefix(2000)) } },
             column { $0.upstreamRequestID }, column { String($0.usage.promptTokens) }, column { String($0.usage.completionTokens) },
             column { $0.costUSD.description }, column { String($0.latencyMS) }, column { $0.billed ? "true" : "false" },
             column { PostgresTimestamp.format($0.createdAt) }]
        )
    }

    public func renewLeases(_ claims: [Claim], lease: Duration) async throws -> Set<UUID> {
        guard !claims.isEmpty else { return [] }
        let rows = try await postgres.query(
            """
            UPDATE jobs j SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
            FROM unnest($1::text[]::uuid[], $2::text[]::uuid[]) AS c(job_id, token)
            WHERE j.job_id = ANY($1::text[]::uuid[]) AND j.job_id = c.job_id AND j.lease_token = c.token
              AND j.status IN ('in_progress', 'cancelling')
            RETURNING j.job_id, j.status
            """,
            [.textArray(claims.map(\.jobID.lowercasedString)), .textArray(claims.map(\.token.lowercasedString)),
             .double(Double(lease.milliseconds) / 1000)]
        )
        var keep = Set<UUID>()
        for row in rows where try row.decode("status", as: String.self) == JobStatus.inProgress.rawValue {
            keep.insert(try row.decode("job_id"))
        }
        return Set(claims.map(\.jobID)).subtracting(keep)
    }
}
