import Foundation
import Postgres

/// Writes balance changes and their ledger rows for many jobs at once, inside the caller's
/// transaction: the accounts are locked (in team order, so concurrent writers never deadlock),
/// the rows are computed from the locked balances (``LedgerPosting``, pure), then one statement
/// carries the whole batch: the accounts' `UPDATE` and the rows' `INSERT` together.
enum LedgerWriter {
    typealias Move = LedgerPosting.Move

    /// Locks the moves' accounts, then writes the moves. (A caller that already locked them
    /// computes its own ``LedgerPosting`` and calls ``write(_:_:)``, saving a round trip.)
    static func apply(_ moves: [Move], _ session: PostgresSession) async throws {
        guard let statement = try await lockAndPlan(moves, session) else { return }
        try await session.query(statement)
    }

    /// Locks the moves' accounts and returns the write of the moves, for the caller to send with
    /// its COMMIT (``PostgresCommit``): the accounts are then held for that one round trip only.
    static func lockAndPlan(_ moves: [Move], _ session: PostgresSession) async throws -> PostgresStatement? {
        let moves = moves.filter { !$0.isEmpty }
        guard !moves.isEmpty else { return nil }
        let remaining = try await lockAccounts(Set(moves.map(\.teamID)), session)
        return statement(LedgerPosting(moves, remaining: remaining))
    }

    /// Writes a posting computed from balances locked in this transaction.
    static func write(_ posting: LedgerPosting, _ session: PostgresSession) async throws {
        guard let statement = statement(posting) else { return }
        try await session.query(statement)
    }

    /// The write of a posting computed from balances locked in this transaction; nil when there
    /// is nothing to write. The two writes touch different tables and depend on nothing of each
    /// other, so they travel as one statement (a data-modifying `WITH` always runs to
    /// completion): one round trip per batch, not two — or none of its own, sent with COMMIT.
    static func statement(_ posting: LedgerPosting) -> PostgresStatement? {
        guard !posting.isEmpty else { return nil }
        let accounts = posting.accounts
        let rows = posting.rows
        return PostgresStatement(
            """
            WITH accounts AS (
                UPDATE credit_accounts a
                SET credits_reserved = a.credits_reserved + d.reserved, credits_used = a.credits_used + d.used, updated_at = now()
                FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS d(team_id, reserved, used)
                WHERE a.team_id = d.team_id
            )
            INSERT INTO credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, job_id, reservation_number)
            SELECT * FROM unnest($4::uuid[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],
                                 $9::uuid[], $10::int[])
            """,
            [
                .textArray(accounts.map(\.teamID)), .textArray(accounts.map { String($0.reserved) }), .textArray(accounts.map { String($0.used) }),
                .textArray(rows.map(\.transactionID.lowercasedString)), .textArray(rows.map(\.teamID)), .textArray(rows.map(\.type.rawValue)),
                .textArray(rows.map { String($0.amount) }), .textArray(rows.map { String($0.after) }),
                .textArray(rows.map(\.jobID.lowercasedString)), .textArray(rows.map { String($0.reservationNumber) }),
            ]
        )
    }

    /// Locks the accounts, in team order; returns their remaining balances.
    static func lockAccounts(_ teams: Set<String>, _ session: PostgresSession) async throws -> [String: Int] {
        try remaining(try await session.query(lockStatement(teams)))
    }

    /// The lock of ``lockAccounts(_:_:)``, for a caller that pipelines it after its own writes;
    /// ``remaining(_:)`` reads its answer.
    static func lockStatement(_ teams: Set<String>) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT team_id, credits_allocated - credits_used - credits_reserved AS remaining
            FROM credit_accounts WHERE team_id = ANY($1::text[]) ORDER BY team_id FOR UPDATE
            """,
            [.textArray(teams.sorted())]
        )
    }

    /// The remaining balances, by team, that ``lockStatement(_:)`` answered.
    static func remaining(_ rows: PostgresRows) throws -> [String: Int] {
        var remaining: [String: Int] = [:]
        for row in rows { remaining[try row.decode("team_id")] = try row.decode("remaining") }
        return remaining
    }
}
