import Foundation

/// Writes balance changes and their ledger rows for many jobs at once, inside the caller's
/// transaction: the accounts are locked (in team order, so concurrent writers never deadlock),
/// each row's `credits_after` is computed from the locked balance, then one `UPDATE` and one
/// `INSERT` carry the whole batch.
enum LedgerWriter {
    /// One job's movement: a reservation taken, or a reservation released and a charge made.
    struct Move {
        var teamID: String
        var jobID: UUID
        var reservationNumber: Int
        var reserve = 0
        var release = 0
        var charge = 0
    }

    /// - Parameter locked: the remaining balances of the accounts, when the caller already locked
    ///   them in this transaction (saves a round trip); otherwise they are locked here.
    static func apply(_ moves: [Move], _ session: PostgresSession, locked: [String: Int]? = nil) async throws {
        let moves = moves.filter { $0.reserve > 0 || $0.release > 0 || $0.charge > 0 }
        guard !moves.isEmpty else { return }
        var remaining: [String: Int]
        if let locked {
            remaining = locked
        } else {
            remaining = try await lockAccounts(Set(moves.map(\.teamID)), session)
        }

        var ids: [String?] = [], teams: [String?] = [], types: [String?] = [], amounts: [String?] = []
        var afters: [String?] = [], jobs: [String?] = [], numbers: [String?] = []
        func row(_ move: Move, _ type: LedgerEntryType, _ amount: Int) {
            remaining[move.teamID, default: 0] += amount
            ids.append(UUID().lowercasedString)
            teams.append(move.teamID)
            types.append(type.rawValue)
            amounts.append(String(amount))
            afters.append(String(remaining[move.teamID, default: 0]))
            jobs.append(move.jobID.lowercasedString)
            numbers.append(String(move.reservationNumber))
        }
        var reservedDelta: [String: Int] = [:]
        var usedDelta: [String: Int] = [:]
        for move in moves {
            if move.reserve > 0 { row(move, .reservation, -move.reserve) }
            if move.release > 0 { row(move, .release, move.release) }
            if move.charge > 0 { row(move, .charge, -move.charge) }
            reservedDelta[move.teamID, default: 0] += move.reserve - move.release
            usedDelta[move.teamID, default: 0] += move.charge
        }
        let teamList = Array(reservedDelta.keys)
        try await session.query(
            """
            UPDATE credit_accounts a
            SET credits_reserved = a.credits_reserved + d.reserved, credits_used = a.credits_used + d.used, updated_at = now()
            FROM unnest($1::text[], $2::text[]::bigint[], $3::text[]::bigint[]) AS d(team_id, reserved, used)
            WHERE a.team_id = d.team_id
            """,
            [.textArray(teamList), .textArray(teamList.map { String(reservedDelta[$0]!) }), .textArray(teamList.map { String(usedDelta[$0] ?? 0) })]
        )
        try await session.query(
            """
            INSERT INTO credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, job_id, reservation_number)
            SELECT * FROM unnest($1::text[]::uuid[], $2::text[], $3::text[], $4::text[]::bigint[], $5::text[]::bigint[],
                                 $6::text[]::uuid[], $7::text[]::int[])
            """,
            [.textArray(ids), .textArray(teams), .textArray(types), .textArray(amounts), .textArray(afters), .textArray(jobs), .textArray(numbers)]
        )
    }

    /// Locks the accounts, in team order; returns their remaining balances.
    static func lockAccounts(_ teams: Set<String>, _ session: PostgresSession) async throws -> [String: Int] {
        let rows = try await session.query(
            """
            SELECT team_id, credits_allocated - credits_used - credits_reserved AS remaining
            FROM credit_accounts WHERE team_id = ANY($1::text[]) ORDER BY team_id FOR UPDATE
            """,
            [.textArray(teams.sorted())]
        )
        var remaining: [String: Int] = [:]
        for row in rows { remaining[try row.decode("team_id")] = try row.decode("remaining") }
        return remaining
    }
}
