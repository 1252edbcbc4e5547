import Foundation
import Postgres

extension PostgresJobStore {
    /// A batch submitted in one round trip, holding its teams' accounts for the last part of it
    /// only. The locking submit holds a team's account across a round trip to the API and back
    /// (read, plan, write): for one busy team that hold is the ceiling of its submits (issue 13).
    ///
    /// When the batch's ``AccountHints`` say it very likely fits, the jobs are priced at the rates
    /// last seen and everything goes out at once: BEGIN, the jobs' INSERT (no account locked yet),
    /// the accounts' lock in team order, one statement that checks each account still covers its
    /// jobs at unchanged rates and writes the reservations and their ledger rows, and COMMIT.
    /// If an account does not fit (another submit or an admin came first), that statement aborts
    /// the transaction (`submit_reservations_fit`, SQLSTATE `SB001`): nothing was written, and
    /// the caller submits the batch the locking way. When it fits, the outcome is the one the
    /// locking submit would have reached: every job reserved, at the same rates, with the same
    /// ledger rows.
    ///
    /// Returns nil when the batch cannot take this way (no hints, an Idempotency-Key, a team near
    /// the end of its credits) or PostgreSQL refused something in it; the locking submit then
    /// decides, and answers what PostgreSQL refuses job by job.
    func submitInOneTrip(_ submissions: [JobSubmission], prepared: PreparedJobRows) async throws -> [SubmitOutcome]? {
        guard let hints = accountHints.oneTrip(submissions) else { return nil }
        let accounts = hints.mapValues { ReservationPlan.Account(remaining: $0.remaining, billing: $0.billing) }
        let plan = ReservationPlan(submissions.map(Self.reservationRequest), accounts: accounts)
        guard plan.accepted.count == submissions.count, let insert = Self.insertJobsStatement(plan, submissions, prepared) else { return nil }
        do {
            return try await postgres.withPipelinedTransaction(kind: .submit) { _ in
                let writes = [insert, Self.lockAccountsStatement(of: submissions), Self.reserveIfFitStatement(plan, accounts: accounts)]
                return PostgresCommit(writes) { rows in
                    submitPaths.record(.oneTrip)
                    let locked = try Self.accounts(rows[1])
                    accountHints.keep(locked, reserved: plan.posting.reservedByTeam)
                    return Self.outcomes(plan, submissions, createdAt: try Self.createdAt(rows[0]))
                }
            }
        } catch let error as PostgresError where Self.fallsBack(error) {
            // Nothing was written. `SB001`: the hints were wrong; a data or constraint error: a
            // job PostgreSQL refuses, which the locking submit finds and answers alone. Anything
            // else (a timeout, a server going away) is no reason to try again the other way.
            accountHints.forget(hints.keys)
            submitPaths.record(.oneTripMissed)
            return nil
        }
    }

    /// The refusals after which the locking submit decides: `SB001` (an account or a rate was
    /// not as hinted), a value PostgreSQL cannot store (class 22) or a constraint one job breaks
    /// (class 23), and a parameter refused before sending.
    static func fallsBack(_ error: PostgresError) -> Bool {
        if case .invalidParameter = error { return true }
        guard let state = error.sqlState else { return false }
        return state == "SB001" || state.hasPrefix("22") || state.hasPrefix("23")
    }

    /// Every team of the plan, with what its jobs reserve and the rates they were priced at:
    /// the accounts (locked by the statement before) are charged and the ledger rows written
    /// only if each covers its jobs and its team's rates are the same, else the statement fails
    /// with `SB001`. Each ledger row's `credits_after` is the balance read here plus the row's
    /// offset in the posting (the posting was computed from the hinted balance).
    static func reserveIfFitStatement(_ plan: ReservationPlan, accounts: [String: ReservationPlan.Account]) -> PostgresStatement {
        let reserved = plan.posting.reservedByTeam
        let teams = accounts.sorted { $0.key < $1.key }
        let rows = plan.posting.rows
        return PostgresStatement(
            """
            WITH d AS (
                SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::numeric[])
                    AS d(team_id, reserved, budget_mode, tokens_per_credit, credits_per_dollar)
            ), fit AS (
                SELECT d.team_id, d.reserved, a.credits_allocated - a.credits_used - a.credits_reserved AS remaining
                FROM d JOIN credit_accounts a ON a.team_id = d.team_id JOIN teams t ON t.team_id = d.team_id
                WHERE a.credits_allocated - a.credits_used - a.credits_reserved >= d.reserved
                  AND t.budget_mode = d.budget_mode AND t.tokens_per_credit = d.tokens_per_credit
                  AND t.credits_per_dollar = d.credits_per_dollar
            ), accounts AS (
                UPDATE credit_accounts a SET credits_reserved = a.credits_reserved + fit.reserved, updated_at = now()
                FROM fit WHERE a.team_id = fit.team_id AND fit.reserved > 0
            ), ledger AS (
                INSERT INTO credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, job_id, reservation_number)
                SELECT r.transaction_id, r.team_id, 'reservation', r.amount, fit.remaining + r.offset_after, r.job_id, 1
                FROM unnest($6::uuid[], $7::text[], $8::bigint[], $9::bigint[], $10::uuid[]) WITH ORDINALITY
                    AS r(transaction_id, team_id, amount, offset_after, job_id, ord)
                JOIN fit ON fit.team_id = r.team_id
                -- In the posting's order, so `sequence` runs with `credits_after` (a hash join
                -- would hand the rows over in any order).
                ORDER BY r.ord
            )
            SELECT submit_reservations_fit((SELECT count(*) FROM fit) = $11) AS fit
            """,
            [
                .textArray(teams.map(\.key)), .textArray(teams.map { String(reserved[$0.key, default: 0]) }),
                .textArray(teams.map(\.value.billing.budgetMode.rawValue)),
                .textArray(teams.map { String($0.value.billing.tokensPerCredit) }),
                .textArray(teams.map(\.value.billing.creditsPerDollar.description)),
                .textArray(rows.map(\.transactionID.lowercasedString)), .textArray(rows.map(\.teamID)),
                .textArray(rows.map { String($0.amount) }),
                // The posting started from the hinted balance; the row's place below it.
                .textArray(rows.map { String($0.after - (accounts[$0.teamID]?.remaining ?? 0)) }),
                .textArray(rows.map(\.jobID.lowercasedString)), .int(teams.count),
            ]
        )
    }
}
