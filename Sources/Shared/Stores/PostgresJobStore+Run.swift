public import Foundation
import Postgres

extension PostgresJobStore {
    /// Marks claimed jobs `in_progress` under their lease tokens, in one statement. A job already
    /// `in_progress` is taken over (its old delivery lost the lease and can no longer settle).
    public func markInProgress(_ claims: [Claim], workerID: String, lease: Duration) async throws -> ([ClaimedJob], MarkRejections) {
        guard !claims.isEmpty else { return ([], MarkRejections()) }
        // The mark, the states of the claims it left alone, and COMMIT go out as one pipeline: the
        // states are read after the mark, in its transaction, for every claim (the ones it
        // marked are ignored), so nothing waits on the mark's answer.
        let mark = Self.markStatement(claims, workerID: workerID, lease: lease)
        let states = PostgresStatement(
            """
            SELECT j.job_id, j.status, t.status AS team_status FROM jobs j JOIN teams t ON t.team_id = j.team_id
            WHERE j.job_id = ANY($1::uuid[])
            """,
            [.textArray(claims.map(\.jobID.lowercasedString))]
        )
        return try await postgres.withPipelinedTransaction(kind: .claim) { _ in
            PostgresCommit([mark, states]) { answers in try Self.markings(claims, marked: answers[0], states: answers[1]) }
        }
    }

    /// The mark of ``markInProgress(_:workerID:lease:)``.
    ///
    /// Each job's token is looked up in the array (`array_position`) rather than joined from an
    /// `unnest`: joined, the plan rescanned the whole unnest for each job found (20 of a 256-job
    /// mark's 30 ms), or drove from it and scanned the table. The status is tested inside `CASE`
    /// so that the jobs are found by their primary key whatever the statistics say (see
    /// ``PostgresJobStore``, "Jobs found by id").
    static func markStatement(_ claims: [Claim], workerID: String, lease: Duration) -> PostgresStatement {
        PostgresStatement(
            """
            UPDATE jobs j SET status = 'in_progress', lease_token = ($2::uuid[])[array_position($1::uuid[], j.job_id)],
                   lease_expires_at = now() + make_interval(secs => $3), worker_id = $4,
                   started_at = COALESCE(j.started_at, now()), retry_at = NULL, updated_at = now()
            FROM teams t
            WHERE j.job_id = ANY($1::uuid[])
              AND CASE WHEN j.status IN ('queued', 'in_progress') THEN true ELSE false END AND j.model_group IS NOT NULL
              AND t.team_id = j.team_id AND t.status = 'active'
            RETURNING j.job_id, j.team_id, j.model_group, j.request, j.budget_mode, j.tokens_per_credit,
                      j.credits_per_dollar, j.credits_reserved, j.attempts, j.expires_at, j.lease_token, j.reservation_number
            """,
            [
                .textArray(claims.map(\.jobID.lowercasedString)), .textArray(claims.map(\.token.lowercasedString)),
                .double(Double(lease.milliseconds) / 1000), .text(workerID),
            ]
        )
    }

    /// The claims a mark took (with their work), and what became of the others: parked when
    /// their team is suspended, finished otherwise. The marks are committed when this runs, so a
    /// row that cannot be read is that claim's problem alone (``MarkRejections/unreadable``).
    static func markings(_ claims: [Claim], marked rows: PostgresRows, states: PostgresRows) throws -> ([ClaimedJob], MarkRejections) {
        var marked: [ClaimedJob] = []
        var rejections = MarkRejections()
        var markedIDs = Set<UUID>()
        let byID = Dictionary(claims.map { ($0.jobID, $0) }, uniquingKeysWith: { first, _ in first })
        for row in rows {
            let jobID: UUID = try row.decode("job_id")
            markedIDs.insert(jobID)
            do {
                marked.append(
                    ClaimedJob(
                        claim: Claim(jobID: jobID, token: try row.decode("lease_token")),
                        teamID: try row.decode("team_id"),
                        modelGroup: try row.decode("model_group"),
                        work: try JSONValueDecoder().decode(JobWork.self, from: row.decode("request", as: PostgresJSON.self).data),
                        billing: try BillingSettings(row: row),
                        creditsReserved: try row.decode("credits_reserved"),
                        reservationNumber: try row.decode("reservation_number"),
                        attempts: try row.decode("attempts"),
                        expiresAt: try row.decode("expires_at")
                    )
                )
            } catch {
                if let claim = byID[jobID] { rejections.unreadable.append(claim) }
            }
        }
        let others = claims.filter { !markedIDs.contains($0.jobID) }
        if !others.isEmpty {
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

    /// Settles many deliveries in one transaction. Each settlement applies only if its lease
    /// token still holds the job and the job is not terminal; a cancel recorded meanwhile turns
    /// a result into `cancelled`. Money moves only for the jobs that settled, and each job's
    /// calls are recorded whatever happened — billed only for the delivery that completed it.
    public func settle(_ settlements: [Settlement]) async throws -> [SettleResult] {
        try await settleTallied(settlements).0
    }

    /// ``settle(_:)``, with the tally of every transaction that committed.
    public func settleTallied(_ settlements: [Settlement]) async throws -> ([SettleResult], SettlementTally) {
        var tally = SettlementTally()
        // Something one settlement carries that PostgreSQL refuses (text it cannot store, a
        // number out of range) must not fail its neighbours, nor come back forever: that
        // delivery settles alone as a failure with nothing from outside in it.
        let results = try await BatchIsolation.run(
            settlements,
            isItemError: { ($0 as? PostgresError)?.isStatementError ?? false },
            batch: { batch in
                let (results, committed) = try await settleBatch(batch)
                tally.add(committed)
                return results
            },
            alone: { settlement, error in
                let (results, committed) = try await settleBatch([settlement.unstorable(because: error)])
                tally.add(committed)
                return results[0]
            }
        )
        return (results, tally)
    }

    /// Read → plan → write: lock the jobs these deliveries hold, decide every settlement in a
    /// ``SettlementPlan``, then one pipeline writes the jobs and the calls and locks the accounts,
    /// and a last one writes the ledger posting with COMMIT. Three round trips (BEGIN goes with
    /// the first; two when no money moves), whatever the batch's size.
    private func settleBatch(_ settlements: [Settlement]) async throws -> ([SettleResult], SettlementTally) {
        try await postgres.withPipelinedTransaction(kind: .settle) { tx in
            let held = try await Self.lockHeldJobs(settlements, tx)
            let plan = SettlementPlan(settlements, held: held)
            let value = (plan.results, SettlementTally(plan, held: held))
            let writes = [
                Self.writeSettledJobsStatement(plan.jobs),
                Self.recordCallsStatement(plan.calls.map { ($0.call, $0.token) }),
                Self.noteEndedCallsStatement(plan.jobs.filter { $0.ended && $0.isOpenCall }),
            ].compactMap { $0 }
            let moves = plan.moves.filter { !$0.isEmpty }
            guard !moves.isEmpty else { return PostgresCommit(writes, value: value) }
            // The teams' account rows are locked last, behind the jobs' writes in the same round
            // trip, and held only until the ledger's write comes back with COMMIT.
            let answers = try await tx.pipeline(writes + [LedgerWriter.lockStatement(Set(moves.map(\.teamID)))])
            let remaining = try LedgerWriter.remaining(answers[answers.count - 1])
            return PostgresCommit([LedgerWriter.statement(plan.posting(remaining: remaining))].compactMap { $0 }, value: value)
        }
    }

    /// Locks the jobs whose lease token is still the delivery's and that are still running (or
    /// being cancelled); the others are not this batch's to settle. The step-by-step jobs of calls
    /// among them are locked too (a second statement, only when there are calls): a call defers
    /// its charge only to a job that is still open, and the lock keeps that job from ending (its
    /// expiry, its cancel) until this settlement is written.
    private static func lockHeldJobs(_ settlements: [Settlement], _ tx: PostgresSession) async throws -> [SettlementPlan.HeldJob] {
        let rows = try await tx.query(heldJobsStatement(settlements.map(\.claim)))
        var held: [(job: SettlementPlan.HeldJob, parent: UUID?)] = []
        for row in rows {
            let parent: UUID? = try row.decodeIfPresent("parent_job_id")
            let job = SettlementPlan.HeldJob(
                jobID: try row.decode("job_id"),
                teamID: try row.decode("team_id"),
                status: JobStatus(rawValue: try row.decode("status")) ?? .failed,
                leaseToken: try row.decodeIfPresent("lease_token"),
                creditsReserved: try row.decode("credits_reserved"),
                reservationNumber: try row.decode("reservation_number"),
                isCall: parent != nil
            )
            held.append((job, parent))
        }
        let parents = Set(held.compactMap(\.parent))
        guard !parents.isEmpty else { return held.map(\.job) }
        let open = Set(try await tx.query(openParentsStatement(parents)).map { try $0.decode("job_id", as: UUID.self) })
        return held.map { entry in
            var job = entry.job
            job.defersCharge = entry.parent.map(open.contains) ?? false
            return job
        }
    }

    /// Locks the jobs that `claims` still hold (their token, running or being cancelled). The
    /// status is tested inside `CASE`: see ``PostgresJobStore``, "Jobs found by id".
    static func heldJobsStatement(_ claims: [Claim]) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT j.job_id, j.team_id, j.status, j.lease_token, j.credits_reserved, j.reservation_number, j.parent_job_id
            FROM jobs j JOIN unnest($1::uuid[], $2::uuid[]) AS o(job_id, token) ON o.job_id = j.job_id
            WHERE j.job_id = ANY($1::uuid[]) AND j.lease_token = o.token
              AND CASE WHEN j.status IN ('in_progress', 'cancelling') THEN true ELSE false END
            FOR UPDATE OF j
            """,
            [.textArray(claims.map(\.jobID.lowercasedString)), .textArray(claims.map(\.token.lowercasedString))]
        )
    }

    /// Locks those of `parents` (step-by-step jobs) that are still open, in id order.
    static func openParentsStatement(_ parents: Set<UUID>) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT job_id FROM jobs WHERE job_id = ANY($1::uuid[])
              AND CASE WHEN status IN ('pending', 'in_progress') THEN true ELSE false END
            ORDER BY job_id FOR UPDATE
            """,
            [.textArray(parents.map(\.lowercasedString))]
        )
    }

    /// A step-by-step job learns of its calls that ended: one more call done, and a completed
    /// call's `call_metadata` merged into the job's metadata (kept within the 16 KiB of JSON a
    /// job's metadata may hold: a merge that would pass it is left out).
    private static func noteEndedCallsStatement(_ calls: [SettlementPlan.JobWrite]) -> PostgresStatement? {
        guard !calls.isEmpty else { return nil }
        return PostgresStatement(
            """
            UPDATE jobs p SET
                calls_done = p.calls_done + a.ended,
                -- jsonb's text (a space after each ':' and ',') is longer than the compact JSON the
                -- bound is measured in: this check only ever leaves a merge out, never refuses anything.
                metadata = CASE WHEN octet_length((p.metadata || a.merged)::text) <= $2 THEN p.metadata || a.merged ELSE p.metadata END,
                updated_at = now()
            FROM (
                SELECT c.parent_job_id, count(DISTINCT c.job_id) AS ended,
                       COALESCE(jsonb_object_agg(m.key, m.value) FILTER (WHERE m.key IS NOT NULL), '{}'::jsonb) AS merged
                FROM jobs c
                LEFT JOIN LATERAL jsonb_each(
                    CASE WHEN c.status = 'completed' AND jsonb_typeof(c.request->'call_metadata') = 'object'
                         THEN c.request->'call_metadata' ELSE '{}'::jsonb END
                ) m ON true
                WHERE c.job_id = ANY($1::uuid[]) AND c.parent_job_id IS NOT NULL
                GROUP BY c.parent_job_id
            ) a
            WHERE p.job_id = a.parent_job_id
            """,
            [.textArray(calls.map(\.jobID.lowercasedString)), .int(JobMetadata.maxBytes)]
        )
    }

    /// Writes the settled jobs' rows as the plan decided them, in one statement; the lease ends.
    private static func writeSettledJobsStatement(_ jobs: [SettlementPlan.JobWrite]) -> PostgresStatement? {
        guard !jobs.isEmpty else { return nil }
        func column(_ value: (SettlementPlan.JobWrite) -> String?) -> PostgresBind { .textArray(jobs.map(value)) }
        return PostgresStatement(
            """
            UPDATE jobs j SET
                status = u.status, result = u.result, prompt_tokens = u.prompt_tokens, completion_tokens = u.completion_tokens,
                cost_usd = u.cost_usd, credits_charged = u.credits_charged, credits_due = u.credits_due,
                error_code = u.error_code, error_message = u.error_message,
                attempts = j.attempts + u.attempt_increment,
                calls_done = j.calls_done + u.calls,
                retry_at = now() + u.delay_ms * interval '1 millisecond',  -- NULL unless back in the queue
                completed_at = CASE WHEN u.ended THEN now() END,
                lease_token = NULL, lease_expires_at = NULL, updated_at = now()
            FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::bigint[], $5::bigint[],
                        $6::numeric[], $7::bigint[], $8::text[], $9::text[], $10::int[], $11::int[],
                        $12::bigint[], $13::boolean[], $14::bigint[])
              AS u(job_id, status, result, prompt_tokens, completion_tokens, cost_usd, credits_charged, error_code,
                   error_message, attempt_increment, calls, delay_ms, ended, credits_due)
            WHERE j.job_id = ANY($1::uuid[]) AND j.job_id = u.job_id
            """,
            [
                column { $0.jobID.lowercasedString }, column { $0.status.rawValue }, column { $0.result.map { JSONText.encode($0) } },
                column { $0.usage.map { String($0.promptTokens) } }, column { $0.usage.map { String($0.completionTokens) } },
                column { $0.costUSD?.description }, column { String($0.creditsCharged) }, column { $0.errorCode },
                column { $0.errorMessage }, column { String($0.attemptIncrement) }, column { String($0.calls) },
                column { $0.retryDelayMS.map(String.init) }, column { $0.ended ? "true" : "false" },
                column { $0.creditsDue.map(String.init) },
            ]
        )
    }

    static func recordCalls(_ calls: [(JobCall, UUID)], _ session: PostgresSession) async throws {
        guard let statement = recordCallsStatement(calls) else { return }
        try await session.query(statement)
    }

    /// The statement of ``recordCalls(_:_:)``; nil when there is no call.
    static func recordCallsStatement(_ calls: [(JobCall, UUID)]) -> PostgresStatement? {
        guard !calls.isEmpty else { return nil }
        func column(_ value: (JobCall) -> String?) -> PostgresBind { .textArray(calls.map { value($0.0) }) }
        return PostgresStatement(
            """
            INSERT INTO job_calls (call_id, job_id, lease_token, step, step_index, model, provider, attempt, status_code, error_class,
                                   error, upstream_request_id, prompt_tokens, completion_tokens, cost_usd, latency_ms, billed, created_at)
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::int[], $6::text[],
                                 $7::text[], $8::int[], $9::int[], $10::text[], $11::text[], $12::text[],
                                 $13::bigint[], $14::bigint[], $15::numeric[], $16::int[],
                                 $17::boolean[], $18::timestamptz[])
            ON CONFLICT (call_id) DO UPDATE SET billed = job_calls.billed OR EXCLUDED.billed
            """,
            [
                column { $0.callID.lowercasedString }, column { $0.jobID.lowercasedString }, .textArray(calls.map { $0.1.lowercasedString }),
                column { $0.step }, column { String($0.stepIndex) }, column { $0.model }, column { $0.provider }, column { String($0.attempt) },
                column { $0.statusCode.map(String.init) }, column { $0.errorClass }, column { $0.error.map { String($0.prefix(2000)) } },
                column { $0.upstreamRequestID }, column { String($0.usage.promptTokens) }, column { String($0.usage.completionTokens) },
                column { $0.costUSD.description }, column { String($0.latencyMS) }, column { $0.billed ? "true" : "false" },
                column { PostgresTimestamp.format($0.createdAt) },
            ]
        )
    }

    /// Extends the leases of `claims`; answers the jobs whose lease the worker no longer holds or
    /// that are being cancelled.
    public func renewLeases(_ claims: [Claim], lease: Duration) async throws -> Set<UUID> {
        guard !claims.isEmpty else { return [] }
        let rows = try await postgres.query(Self.renewStatement(claims, lease: lease))
        var keep = Set<UUID>()
        for row in rows where try row.decode("status", as: String.self) == JobStatus.inProgress.rawValue {
            keep.insert(try row.decode("job_id"))
        }
        return Set(claims.map(\.jobID)).subtracting(keep)
    }

    /// The statement of ``renewLeases(_:lease:)``. Each token is looked up in its array, as
    /// ``markStatement(_:workerID:lease:)`` does: a renewal covers every lease the worker holds,
    /// thousands at a high concurrency, and joined from an `unnest` the statement rescanned them
    /// all for each row (2 s for 1,670 leases, holding the rows it had renewed meanwhile). The
    /// status is tested inside `CASE`: see ``PostgresJobStore``, "Jobs found by id".
    static func renewStatement(_ claims: [Claim], lease: Duration) -> PostgresStatement {
        PostgresStatement(
            """
            UPDATE jobs j SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
            WHERE j.job_id = ANY($1::uuid[]) AND j.lease_token = ($2::uuid[])[array_position($1::uuid[], j.job_id)]
              AND CASE WHEN j.status IN ('in_progress', 'cancelling') THEN true ELSE false END
            RETURNING j.job_id, j.status
            """,
            [
                .textArray(claims.map(\.jobID.lowercasedString)), .textArray(claims.map(\.token.lowercasedString)),
                .double(Double(lease.milliseconds) / 1000),
            ]
        )
    }
}
