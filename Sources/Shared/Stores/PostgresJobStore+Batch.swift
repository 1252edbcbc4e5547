import Foundation
import Postgres

extension PostgresJobStore {
    /// A team's batch as one transaction, with the single submits' read → plan → write: under a
    /// key, the key is locked and its earlier answer read first; then the account is locked, a
    /// ``ReservationPlan`` decides every reservation against the running balance, and the jobs,
    /// their ledger rows and the keyed answer are written set-wise — a handful of statements
    /// whatever the batch's size.
    ///
    /// Unlike ``submit(_:)`` nothing is isolated: an item PostgreSQL refuses fails the batch (and
    /// writes nothing), since its answer is one record. The API's checks run first so that
    /// nothing a client sends gets that far.
    public func submit(batch: JobBatch) async throws -> JobBatchOutcome {
        let prepared = PreparedJobRows(batch.submissions)
        return try await postgres.withPipelinedTransaction(kind: .submit) { tx in
            if let key = batch.idempotencyKey {
                if let earlier = try await Self.lockBatchKey(teamID: batch.teamID, key: key, tx) {
                    guard earlier.requestHash == batch.requestHash else { throw DomainError.idempotencyKeyReused }
                    return PostgresCommit([], value: .replayed(answer: earlier.answer))
                }
            }
            let accounts = try await Self.lockAccounts(of: batch.submissions, tx)
            let plan = ReservationPlan(batch.submissions.map(Self.reservationRequest), accounts: accounts)
            if batch.allOrNothing, let refused = Self.firstRefusal(plan) {
                // Nothing was written: the transaction ends with only its locks taken.
                return PostgresCommit([], value: .refused(index: refused.index, reason: refused.reason))
            }
            // The jobs and their ledger rows in one round trip; the answer needs the jobs'
            // creation times, and is kept (under a key) with COMMIT.
            let insert = Self.insertJobsStatement(plan, batch.submissions, prepared)
            let written = try await tx.pipeline([insert, LedgerWriter.statement(plan.posting)].compactMap { $0 })
            let createdAt = insert == nil ? [:] : try Self.createdAt(written[0])
            let outcomes = Self.outcomes(plan, batch.submissions, createdAt: createdAt)
            let answer = try batch.answer(outcomes)
            let kept = batch.idempotencyKey.map { key in
                PostgresStatement(
                    "INSERT INTO job_batches (team_id, idempotency_key, request_hash, answer) VALUES ($1, $2, $3, $4)",
                    [.text(batch.teamID), .text(key), .bytea(batch.requestHash ?? []), .json(answer)]
                )
            }
            return PostgresCommit([kept].compactMap { $0 }, value: .submitted(outcomes: outcomes, answer: answer))
        }
    }

    /// Serializes the batches of one team and key (a transaction-scoped advisory lock: two
    /// concurrent replays cannot both find no answer and both write jobs), then reads the
    /// answer an earlier batch under the key kept, if any.
    private static func lockBatchKey(teamID: String, key: String, _ tx: PostgresSession) async throws -> (requestHash: [UInt8], answer: String)? {
        // The lock, then the read it orders, in one round trip.
        let answers = try await tx.pipeline([
            PostgresStatement("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", [.text(teamID), .text(key)]),
            PostgresStatement(
                "SELECT request_hash, answer::text AS answer FROM job_batches WHERE team_id = $1 AND idempotency_key = $2",
                [.text(teamID), .text(key)]
            ),
        ])
        guard let row = answers[1].first else { return nil }
        return (try row.decode("request_hash", as: PostgresBytes.self).bytes, try row.decode("answer"))
    }

    /// The first submission the plan does not create, and why (batch items carry no keys of
    /// their own, so the reasons are the balance and a team gone).
    private static func firstRefusal(_ plan: ReservationPlan) -> (index: Int, reason: DomainError)? {
        for (index, decision) in plan.decisions.enumerated() {
            switch decision {
            case .reserve: continue
            case .insufficientCredits(let remaining, let needed): return (index, .insufficientCredits(remaining: remaining, needed: needed))
            case .idempotencyConflict: return (index, .idempotencyKeyReused)
            case .teamNotFound, .replay, .repeatOf: return (index, .callerTeamNotFound)
            }
        }
        return nil
    }
}

extension JobStore {
    /// Stores that keep no batch answers have none to forget.
    public func forgetBatchAnswers(olderThan age: Duration, limit: Int) async throws -> Int { 0 }
}

extension PostgresJobStore {
    public func forgetBatchAnswers(olderThan age: Duration, limit: Int) async throws -> Int {
        try await postgres.query(
            """
            DELETE FROM job_batches WHERE (team_id, idempotency_key) IN (
                SELECT team_id, idempotency_key FROM job_batches
                WHERE created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2
            )
            """,
            [.double(Double(age.components.seconds)), .int(limit)]
        ).affectedRows
    }
}
