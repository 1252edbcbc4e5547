import Foundation
public import Postgres

/// Admin-side balance changes and the ledger. Every change of a balance and its ledger row are
/// one statement or one transaction; the account row's lock serialises concurrent changes, so
/// none is lost.
public protocol CreditStore: Sendable {
    /// Adds `credits` (> 0). A repeated `idempotencyKey` with the same request returns the first
    /// entry and adds nothing; with a different request it throws ``DomainError/idempotencyKeyReused``.
    func add(teamID: String, credits: Int, reason: String?, idempotencyKey: String?, requestHash: [UInt8]?) async throws -> LedgerEntry
    /// Adds or removes credits (≠ 0); refuses to take the remaining balance below zero. The
    /// `idempotencyKey` works as ``add(teamID:credits:reason:idempotencyKey:requestHash:)``'s (one
    /// key space per team for both).
    func adjust(teamID: String, credits: Int, reason: String, idempotencyKey: String?, requestHash: [UInt8]?) async throws -> LedgerEntry
    func balance(teamID: String) async throws -> (CreditBalance, BillingSettings)
    /// The balances of several teams in one query (teams without an account are absent).
    func balances(teamIDs: [String]) async throws -> [String: (CreditBalance, BillingSettings)]
    func transactions(teamID: String, limit: Int, after cursor: String?) async throws -> Page<LedgerEntry>
}

public struct PostgresCreditStore: CreditStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    static let entryColumns = "transaction_id, team_id, transaction_type, credits_amount, credits_after, job_id, reason, created_at"

    public func add(teamID: String, credits: Int, reason: String?, idempotencyKey: String?, requestHash: [UInt8]?) async throws -> LedgerEntry {
        do {
            // One statement: the balance change and its ledger row commit together or not at all.
            // In an explicit transaction so that a connection lost before COMMIT is run again and
            // one lost during it is `commitOutcomeUnknown` — never a "retry later" that adds twice.
            let rows = try await postgres.withTransaction(kind: .admin) { tx in
                try await tx.query(
                    """
                    WITH account AS (
                        UPDATE credit_accounts SET credits_allocated = credits_allocated + $2, updated_at = now()
                        WHERE team_id = $1
                        RETURNING credits_allocated - credits_used - credits_reserved AS remaining
                    )
                    INSERT INTO credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, reason,
                                               idempotency_key, request_hash)
                    SELECT $3, $1, 'allocation', $2, remaining, $4, $5, $6 FROM account
                    RETURNING \(Self.entryColumns)
                    """,
                    [
                        .text(teamID), .int(credits), .uuid(UUID.random()), PostgresBind(reason), PostgresBind(idempotencyKey),
                        requestHash.map { .bytea($0) } ?? .null,
                    ]
                )
            }
            guard let row = rows.first else { throw DomainError.teamNotFound(teamID) }
            return try Self.decode(row)
        } catch let error as PostgresError where error.sqlState == PostgresError.Code.checkViolation {
            throw DomainError.balanceLimitExceeded
        } catch let error as PostgresError where error.sqlState == PostgresError.Code.uniqueViolation && idempotencyKey != nil {
            // The key was used before (possibly by a concurrent twin of this request).
            return try await replay(teamID: teamID, idempotencyKey: idempotencyKey, requestHash: requestHash, or: error)
        }
    }

    /// The entry an `Idempotency-Key` already made, when the request is the same.
    private func replay(teamID: String, idempotencyKey: String?, requestHash: [UInt8]?, or error: any Error) async throws -> LedgerEntry {
        let rows = try await postgres.query(
            "SELECT \(Self.entryColumns), request_hash FROM credit_ledger WHERE team_id = $1 AND idempotency_key = $2",
            [.text(teamID), PostgresBind(idempotencyKey)]
        )
        guard let row = rows.first else { throw error }
        guard try row.decodeIfPresent("request_hash", as: PostgresBytes.self)?.bytes == requestHash else {
            throw DomainError.idempotencyKeyReused
        }
        return try Self.decode(row)
    }

    public func adjust(teamID: String, credits: Int, reason: String, idempotencyKey: String?, requestHash: [UInt8]?) async throws -> LedgerEntry {
        do {
            return try await adjustOnce(teamID: teamID, credits: credits, reason: reason, idempotencyKey: idempotencyKey, requestHash: requestHash)
        } catch let error as PostgresError where error.sqlState == PostgresError.Code.uniqueViolation && idempotencyKey != nil {
            return try await replay(teamID: teamID, idempotencyKey: idempotencyKey, requestHash: requestHash, or: error)
        }
    }

    private func adjustOnce(teamID: String, credits: Int, reason: String, idempotencyKey: String?, requestHash: [UInt8]?) async throws -> LedgerEntry
    {
        try await postgres.withTransaction(kind: .admin) { tx in
            if idempotencyKey != nil {
                // A replay answers what the first request did, even when the balance has moved
                // since (the check below would otherwise judge it again).
                let seen = try await tx.query(
                    "SELECT \(Self.entryColumns), request_hash FROM credit_ledger WHERE team_id = $1 AND idempotency_key = $2",
                    [.text(teamID), PostgresBind(idempotencyKey)]
                )
                if let row = seen.first {
                    guard try row.decodeIfPresent("request_hash", as: PostgresBytes.self)?.bytes == requestHash else {
                        throw DomainError.idempotencyKeyReused
                    }
                    return try Self.decode(row)
                }
            }
            let account = try await tx.query(
                """
                SELECT credits_allocated - credits_used - credits_reserved AS remaining
                FROM credit_accounts WHERE team_id = $1 FOR UPDATE
                """,
                [.text(teamID)]
            )
            guard let remaining = try account.first?.decode("remaining", as: Int.self) else {
                throw DomainError.teamNotFound(teamID)
            }
            guard remaining + credits >= 0 else {
                throw DomainError.balanceWouldGoNegative(remaining: remaining, change: credits)
            }
            do {
                try await tx.query(
                    "UPDATE credit_accounts SET credits_allocated = credits_allocated + $2, updated_at = now() WHERE team_id = $1",
                    [.text(teamID), .int(credits)]
                )
            } catch let error as PostgresError where error.sqlState == PostgresError.Code.checkViolation {
                throw DomainError.balanceLimitExceeded
            }
            let rows = try await tx.query(
                """
                INSERT INTO credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, reason,
                                           idempotency_key, request_hash)
                VALUES ($1, $2, 'adjustment', $3, $4, $5, $6, $7) RETURNING \(Self.entryColumns)
                """,
                [
                    .uuid(UUID.random()), .text(teamID), .int(credits), .int(remaining + credits), .text(reason), PostgresBind(idempotencyKey),
                    requestHash.map { .bytea($0) } ?? .null,
                ]
            )
            return try Self.decode(rows.first!)
        }
    }

    public func balance(teamID: String) async throws -> (CreditBalance, BillingSettings) {
        guard let balance = try await balances(teamIDs: [teamID])[teamID] else { throw DomainError.teamNotFound(teamID) }
        return balance
    }

    public func balances(teamIDs: [String]) async throws -> [String: (CreditBalance, BillingSettings)] {
        let rows = try await postgres.query(
            """
            SELECT a.team_id, a.credits_allocated, a.credits_used, a.credits_reserved, t.budget_mode, t.tokens_per_credit, t.credits_per_dollar
            FROM credit_accounts a JOIN teams t ON t.team_id = a.team_id WHERE a.team_id = ANY($1::text[])
            """,
            [.textArray(teamIDs)]
        )
        var balances: [String: (CreditBalance, BillingSettings)] = [:]
        for row in rows { balances[try row.decode("team_id")] = try Self.decodeBalance(row) }
        return balances
    }

    private static func decodeBalance(_ row: PostgresRow) throws -> (CreditBalance, BillingSettings) {
        (
            CreditBalance(
                allocated: try row.decode("credits_allocated"),
                used: try row.decode("credits_used"),
                reserved: try row.decode("credits_reserved")
            ),
            try BillingSettings(row: row)
        )
    }

    public func transactions(teamID: String, limit: Int, after cursor: String?) async throws -> Page<LedgerEntry> {
        let rows = try await postgres.query(
            """
            SELECT \(Self.entryColumns), sequence FROM credit_ledger
            WHERE team_id = $1 AND ($2::bigint IS NULL OR sequence < $2)
            ORDER BY sequence DESC LIMIT $3
            """,
            [.text(teamID), PostgresBind(cursor.flatMap { Int($0) }), .int(limit + 1)]
        )
        var entries: [LedgerEntry] = []
        var lastSequence: Int?
        for row in rows.prefix(limit) {
            entries.append(try Self.decode(row))
            lastSequence = try row.decode("sequence", as: Int.self)
        }
        let next = rows.count > limit ? lastSequence.map { Cursor.encode(String($0)) } : nil
        return Page(items: entries, nextCursor: next)
    }

    static func decode(_ row: PostgresRow) throws -> LedgerEntry {
        LedgerEntry(
            transactionID: try row.decode("transaction_id"),
            teamID: try row.decode("team_id"),
            type: LedgerEntryType(rawValue: try row.decode("transaction_type")) ?? .adjustment,
            amount: try row.decode("credits_amount"),
            after: try row.decode("credits_after"),
            jobID: try row.decodeIfPresent("job_id"),
            reason: try row.decodeIfPresent("reason"),
            createdAt: try row.decode("created_at")
        )
    }
}
