public import Foundation

/// The ledger rows and account changes that many jobs' credit movements come to, computed from
/// the balances the transaction locked. Pure: the plans produce it, `LedgerWriter` writes it in
/// one statement. Each row's `after` is the team's remaining balance once that row (and the
/// ones before it in this posting) applied, so a team's rows always add up to its balance.
public struct LedgerPosting: Sendable, Hashable {
    /// One job's movement: a reservation taken, or a reservation released and a charge made.
    public struct Move: Sendable, Hashable {
        public var teamID: String
        public var jobID: UUID
        public var reservationNumber: Int
        public var reserve: Int
        public var release: Int
        public var charge: Int

        public init(teamID: String, jobID: UUID, reservationNumber: Int, reserve: Int = 0, release: Int = 0, charge: Int = 0) {
            self.teamID = teamID
            self.jobID = jobID
            self.reservationNumber = reservationNumber
            self.reserve = reserve
            self.release = release
            self.charge = charge
        }

        /// A move of nothing writes nothing (no ledger row of 0 credits).
        public var isEmpty: Bool { reserve <= 0 && release <= 0 && charge <= 0 }
    }

    /// One `credit_ledger` row of a job.
    public struct Row: Sendable, Hashable {
        public var transactionID: UUID
        public var teamID: String
        public var type: LedgerEntryType
        /// The change of the team's remaining balance (negative for reservations and charges).
        public var amount: Int
        public var after: Int
        public var jobID: UUID
        public var reservationNumber: Int
    }

    /// The change of one team's account: `credits_reserved += reserved`, `credits_used += used`.
    public struct AccountChange: Sendable, Hashable {
        public var teamID: String
        public var reserved: Int
        public var used: Int
    }

    /// In the moves' order; for each move: reservation, release, then charge.
    public var rows: [Row]
    /// One per team that moved, in team order.
    public var accounts: [AccountChange]

    public var isEmpty: Bool { rows.isEmpty }

    /// `credits_reserved` added per team (``accounts``, by team).
    public var reservedByTeam: [String: Int] {
        Dictionary(uniqueKeysWithValues: accounts.map { ($0.teamID, $0.reserved) })
    }

    /// - Parameters:
    ///   - remaining: the teams' remaining balances as locked in this transaction.
    ///   - newID: the ledger rows' transaction ids (fixed in tests).
    public init(_ moves: [Move], remaining: [String: Int], newID: () -> UUID = UUID.random) {
        var balance = remaining
        var rows: [Row] = []
        var reserved: [String: Int] = [:]
        var used: [String: Int] = [:]
        func row(_ move: Move, _ type: LedgerEntryType, _ amount: Int) {
            balance[move.teamID, default: 0] += amount
            rows.append(
                Row(
                    transactionID: newID(),
                    teamID: move.teamID,
                    type: type,
                    amount: amount,
                    after: balance[move.teamID, default: 0],
                    jobID: move.jobID,
                    reservationNumber: move.reservationNumber
                )
            )
        }
        for move in moves where !move.isEmpty {
            if move.reserve > 0 { row(move, .reservation, -move.reserve) }
            if move.release > 0 { row(move, .release, move.release) }
            if move.charge > 0 { row(move, .charge, -move.charge) }
            reserved[move.teamID, default: 0] += move.reserve - move.release
            used[move.teamID, default: 0] += move.charge
        }
        self.rows = rows
        self.accounts = reserved.keys.sorted().map { AccountChange(teamID: $0, reserved: reserved[$0]!, used: used[$0] ?? 0) }
    }
}
