public import Foundation
public import Postgres

/// What a new team is made of.
public struct TeamDraft: Sendable {
    public var teamID: String
    public var organizationID: String
    public var teamAlias: String?
    public var modelGroups: [String]
    public var creditsAllocated: Int
    public var billing: BillingSettings
    public var metadata: JSONObject

    public init(
        teamID: String,
        organizationID: String,
        teamAlias: String?,
        modelGroups: [String],
        creditsAllocated: Int,
        billing: BillingSettings,
        metadata: JSONObject
    ) {
        self.teamID = teamID
        self.organizationID = organizationID
        self.teamAlias = teamAlias
        self.modelGroups = modelGroups
        self.creditsAllocated = creditsAllocated
        self.billing = billing
        self.metadata = metadata
    }
}

/// Who a virtual key belongs to, as authentication needs it.
public struct TeamIdentity: Sendable, Hashable {
    public var teamID: String
    public var organizationID: String
    public var status: TeamStatus
}

/// Teams, their keys, model groups and billing settings.
public protocol TeamStore: Sendable {
    /// Creates the team with its first key, model groups, account and initial allocation.
    func create(_ draft: TeamDraft) async throws -> (Team, MintedKey)
    func get(_ teamID: String) async throws -> Team
    func list(organizationID: String?, limit: Int, after cursor: String?) async throws -> Page<Team>
    func setModelGroups(_ teamID: String, _ groups: [String]) async throws -> Team
    func setStatus(_ teamID: String, _ status: TeamStatus) async throws -> Team
    func setBilling(_ teamID: String, mode: BudgetMode?, tokensPerCredit: Int?, creditsPerDollar: Decimal?) async throws -> Team
    /// Mints a new current key; the old one keeps working for `graceSeconds` (0: not at all).
    func rotateKey(_ teamID: String, graceSeconds: Int) async throws -> (MintedKey, previousKeyExpiresAt: Date?)
    /// The team of a key (by its hash), if the key is current or within its grace period.
    func identity(forKeyHash hash: [UInt8]) async throws -> TeamIdentity?
}

public struct PostgresTeamStore: TeamStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public func create(_ draft: TeamDraft) async throws -> (Team, MintedKey) {
        let key = VirtualKey.mint()
        let team = try await postgres.withTransaction { tx in
            guard try await !tx.query("SELECT 1 FROM organizations WHERE organization_id = $1", [.text(draft.organizationID)]).isEmpty else {
                throw DomainError.organizationNotFound(draft.organizationID)
            }
            try await Self.requireModelGroups(draft.modelGroups, tx)
            do {
                try await tx.query(
                    """
                    INSERT INTO teams (team_id, organization_id, team_alias, budget_mode, tokens_per_credit, credits_per_dollar, metadata)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    """,
                    [
                        .text(draft.teamID), .text(draft.organizationID), PostgresBind(draft.teamAlias), .text(draft.billing.budgetMode.rawValue),
                        .int(draft.billing.tokensPerCredit), .numeric(draft.billing.creditsPerDollar), .json(draft.metadata.jsonText()),
                    ]
                )
            } catch let error as PostgresError where error.sqlState == PostgresError.Code.uniqueViolation {
                throw DomainError.teamExists(draft.teamID)
            }
            try await tx.query(
                "INSERT INTO team_keys (key_hash, team_id, key_prefix) VALUES ($1, $2, $3)",
                [.bytea(key.hash), .text(draft.teamID), .text(key.prefix)]
            )
            try await tx.query(
                "INSERT INTO team_model_groups (team_id, group_name) SELECT $1, unnest($2::text[])",
                [.text(draft.teamID), .textArray(draft.modelGroups)]
            )
            try await tx.query(
                "INSERT INTO credit_accounts (team_id, credits_allocated) VALUES ($1, $2)",
                [.text(draft.teamID), .int(draft.creditsAllocated)]
            )
            if draft.creditsAllocated > 0 {
                try await tx.query(
                    """
                    INSERT INTO credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, reason)
                    VALUES ($1, $2, 'allocation', $3, $3, 'initial allocation')
                    """,
                    [.uuid(UUID.random()), .text(draft.teamID), .int(draft.creditsAllocated)]
                )
            }
            return try await Self.fetch(draft.teamID, tx)
        }
        return (team, key)
    }

    public func get(_ teamID: String) async throws -> Team {
        try await postgres.withConnection { try await Self.fetch(teamID, $0) }
    }

    public func list(organizationID: String?, limit: Int, after cursor: String?) async throws -> Page<Team> {
        let rows = try await postgres.query(
            Self.select + """
                 WHERE ($1::text IS NULL OR t.organization_id = $1) AND ($2::text IS NULL OR t.team_id > $2)
                ORDER BY t.team_id LIMIT $3
                """,
            [PostgresBind(organizationID), PostgresBind(cursor), .int(limit + 1)]
        )
        var teams = try rows.map(Self.decode)
        var next: String?
        if teams.count > limit {
            teams.removeLast()
            next = teams.last.map { Cursor.encode($0.teamID) }
        }
        return Page(items: teams, nextCursor: next)
    }

    public func setModelGroups(_ teamID: String, _ groups: [String]) async throws -> Team {
        try await postgres.withTransaction { tx in
            try await Self.lockTeam(teamID, tx)
            try await Self.requireModelGroups(groups, tx)
            try await tx.query("DELETE FROM team_model_groups WHERE team_id = $1", [.text(teamID)])
            try await tx.query(
                "INSERT INTO team_model_groups (team_id, group_name) SELECT $1, unnest($2::text[])",
                [.text(teamID), .textArray(groups)]
            )
            try await tx.query("UPDATE teams SET updated_at = now() WHERE team_id = $1", [.text(teamID)])
            return try await Self.fetch(teamID, tx)
        }
    }

    public func setStatus(_ teamID: String, _ status: TeamStatus) async throws -> Team {
        try await postgres.withTransaction { tx in
            let updated = try await tx.query(
                "UPDATE teams SET status = $2, updated_at = now() WHERE team_id = $1",
                [.text(teamID), .text(status.rawValue)]
            )
            guard updated.affectedRows == 1 else { throw DomainError.teamNotFound(teamID) }
            return try await Self.fetch(teamID, tx)
        }
    }

    public func setBilling(_ teamID: String, mode: BudgetMode?, tokensPerCredit: Int?, creditsPerDollar: Decimal?) async throws -> Team {
        try await postgres.withTransaction { tx in
            let updated = try await tx.query(
                """
                UPDATE teams SET budget_mode = COALESCE($2, budget_mode),
                                 tokens_per_credit = COALESCE($3, tokens_per_credit),
                                 credits_per_dollar = COALESCE($4, credits_per_dollar),
                                 updated_at = now()
                WHERE team_id = $1
                """,
                [.text(teamID), PostgresBind(mode?.rawValue), PostgresBind(tokensPerCredit), PostgresBind(creditsPerDollar)]
            )
            guard updated.affectedRows == 1 else { throw DomainError.teamNotFound(teamID) }
            return try await Self.fetch(teamID, tx)
        }
    }

    public func rotateKey(_ teamID: String, graceSeconds: Int) async throws -> (MintedKey, previousKeyExpiresAt: Date?) {
        let key = VirtualKey.mint()
        let previousExpiry = try await postgres.withTransaction { tx -> Date? in
            try await Self.lockTeam(teamID, tx)
            // Keys still in an earlier grace period end now: only the last key gets a grace period.
            try await tx.query(
                "DELETE FROM team_keys WHERE team_id = $1 AND expires_at IS NOT NULL",
                [.text(teamID)]
            )
            let previous: Date?
            if graceSeconds > 0 {
                previous = try await tx.query(
                    """
                    UPDATE team_keys SET expires_at = now() + make_interval(secs => $2)
                    WHERE team_id = $1 AND expires_at IS NULL RETURNING expires_at
                    """,
                    [.text(teamID), .int(graceSeconds)]
                ).first?.decode("expires_at", as: Date.self)
            } else {
                try await tx.query("DELETE FROM team_keys WHERE team_id = $1 AND expires_at IS NULL", [.text(teamID)])
                previous = nil
            }
            try await tx.query(
                "INSERT INTO team_keys (key_hash, team_id, key_prefix) VALUES ($1, $2, $3)",
                [.bytea(key.hash), .text(teamID), .text(key.prefix)]
            )
            try await tx.query("UPDATE teams SET updated_at = now() WHERE team_id = $1", [.text(teamID)])
            return previous
        }
        return (key, previousExpiry)
    }

    public func identity(forKeyHash hash: [UInt8]) async throws -> TeamIdentity? {
        let rows = try await postgres.query(
            """
            SELECT t.team_id, t.organization_id, t.status
            FROM team_keys k JOIN teams t ON t.team_id = k.team_id
            WHERE k.key_hash = $1 AND (k.expires_at IS NULL OR k.expires_at > now())
            """,
            [.bytea(hash)]
        )
        guard let row = rows.first else { return nil }
        return TeamIdentity(
            teamID: try row.decode("team_id"),
            organizationID: try row.decode("organization_id"),
            status: TeamStatus(rawValue: try row.decode("status")) ?? .suspended
        )
    }

    // MARK: - Shared SQL

    static let select = """
        SELECT t.team_id, t.organization_id, t.team_alias, t.status, t.budget_mode, t.tokens_per_credit,
               t.credits_per_dollar, t.metadata, t.created_at, t.updated_at,
               a.credits_allocated, a.credits_used, a.credits_reserved,
               \(PostgresTeamLimitsStore.columns),
               (SELECT k.key_prefix FROM team_keys k WHERE k.team_id = t.team_id AND k.expires_at IS NULL) AS key_prefix,
               (SELECT COALESCE(json_agg(g.group_name ORDER BY g.group_name), '[]'::json)
                  FROM team_model_groups g WHERE g.team_id = t.team_id) AS model_groups
        FROM teams t JOIN credit_accounts a ON a.team_id = t.team_id
        """

    static func fetch(_ teamID: String, _ session: PostgresSession) async throws -> Team {
        let rows = try await session.query(select + " WHERE t.team_id = $1", [.text(teamID)])
        guard let row = rows.first else { throw DomainError.teamNotFound(teamID) }
        return try decode(row)
    }

    static func lockTeam(_ teamID: String, _ session: PostgresSession) async throws {
        guard try await !session.query("SELECT 1 FROM teams WHERE team_id = $1 FOR UPDATE", [.text(teamID)]).isEmpty else {
            throw DomainError.teamNotFound(teamID)
        }
    }

    /// Throws for the first name (in the caller's order) that is not a model group.
    static func requireModelGroups(_ groups: [String], _ session: PostgresSession) async throws {
        guard !groups.isEmpty else { return }
        let found = Set(
            try await session.query(
                "SELECT group_name FROM model_groups WHERE group_name = ANY($1::text[])",
                [.textArray(groups)]
            ).map { try $0.decode("group_name", as: String.self) }
        )
        if let missing = groups.first(where: { !found.contains($0) }) {
            throw DomainError.modelGroupNotFound(missing)
        }
    }

    static func decode(_ row: PostgresRow) throws -> Team {
        let groupsJSON = try row.decode("model_groups", as: PostgresJSON.self)
        return Team(
            teamID: try row.decode("team_id"),
            organizationID: try row.decode("organization_id"),
            teamAlias: try row.decodeIfPresent("team_alias"),
            status: TeamStatus(rawValue: try row.decode("status")) ?? .suspended,
            modelGroups: (try? JSONDecoder().decode([String].self, from: groupsJSON.data)) ?? [],
            billing: try BillingSettings(row: row),
            balance: CreditBalance(
                allocated: try row.decode("credits_allocated"),
                used: try row.decode("credits_used"),
                reserved: try row.decode("credits_reserved")
            ),
            keyPrefix: try row.decodeIfPresent("key_prefix"),
            metadata: .fromJSON(try row.decodeIfPresent("metadata")),
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"),
            limits: try PostgresTeamLimitsStore.decode(row)
        )
    }
}
