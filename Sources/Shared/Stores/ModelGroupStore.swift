import Foundation
public import Postgres

/// Model groups and their models.
public protocol ModelGroupStore: Sendable {
    func create(groupName: String, displayName: String?, description: String?, models: [ModelEntry]) async throws -> ModelGroup
    func get(_ groupName: String) async throws -> ModelGroup
    func list() async throws -> [ModelGroup]
    func replaceModels(_ groupName: String, _ models: [ModelEntry]) async throws -> ModelGroup
    func delete(_ groupName: String) async throws
}

public struct PostgresModelGroupStore: ModelGroupStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public func create(groupName: String, displayName: String?, description: String?, models: [ModelEntry]) async throws -> ModelGroup {
        try await postgres.withTransaction { tx in
            do {
                try await tx.query(
                    "INSERT INTO model_groups (group_name, display_name, description) VALUES ($1, $2, $3)",
                    [.text(groupName), PostgresBind(displayName), PostgresBind(description)]
                )
            } catch let error as PostgresError where error.sqlState == PostgresError.Code.uniqueViolation {
                throw DomainError.modelGroupExists(groupName)
            }
            try await Self.insertModels(groupName, models, tx)
            return try await Self.fetch(groupName, tx)
        }
    }

    public func get(_ groupName: String) async throws -> ModelGroup {
        try await postgres.withConnection { try await Self.fetch(groupName, $0) }
    }

    public func list() async throws -> [ModelGroup] {
        let rows = try await postgres.query(Self.select + " ORDER BY g.group_name")
        return try rows.map(Self.decode)
    }

    public func replaceModels(_ groupName: String, _ models: [ModelEntry]) async throws -> ModelGroup {
        try await postgres.withTransaction { tx in
            let locked = try await tx.query("SELECT 1 FROM model_groups WHERE group_name = $1 FOR UPDATE", [.text(groupName)])
            guard !locked.isEmpty else { throw DomainError.modelGroupNotFound(groupName) }
            try await tx.query("DELETE FROM model_group_models WHERE group_name = $1", [.text(groupName)])
            try await Self.insertModels(groupName, models, tx)
            try await tx.query("UPDATE model_groups SET updated_at = now() WHERE group_name = $1", [.text(groupName)])
            return try await Self.fetch(groupName, tx)
        }
    }

    /// Refused while teams hold the group (the foreign key) or live jobs name it (checked in the
    /// delete's transaction, under the group row's lock): such jobs could not run and would loop
    /// through the queue until they expire.
    public func delete(_ groupName: String) async throws {
        do {
            try await postgres.withTransaction { tx in
                let locked = try await tx.query("SELECT 1 FROM model_groups WHERE group_name = $1 FOR UPDATE", [.text(groupName)])
                guard !locked.isEmpty else { throw DomainError.modelGroupNotFound(groupName) }
                let live = try await tx.query(
                    """
                    SELECT 1 FROM jobs WHERE model_group = $1 AND status IN ('pending', 'queued', 'in_progress', 'cancelling') LIMIT 1
                    """,
                    [.text(groupName)]
                )
                guard live.isEmpty else { throw DomainError.modelGroupHasLiveJobs(groupName) }
                try await tx.query("DELETE FROM model_groups WHERE group_name = $1", [.text(groupName)])
            }
        } catch let error as PostgresError where error.sqlState == PostgresError.Code.foreignKeyViolation {
            throw DomainError.modelGroupAssigned(groupName)
        }
    }

    // MARK: - Shared SQL

    static func insertModels(_ groupName: String, _ models: [ModelEntry], _ session: PostgresSession) async throws {
        let providers = Set(
            try await session.query(
                "SELECT name FROM providers WHERE name = ANY($1::text[])",
                [.textArray(models.map(\.provider))]
            ).map { try $0.decode("name", as: String.self) }
        )
        if let missing = models.first(where: { !providers.contains($0.provider) }) {
            throw DomainError.providerNotFound(missing.provider)
        }
        for (position, model) in models.enumerated() {
            try await session.query(
                """
                INSERT INTO model_group_models (group_name, position, model_name, provider, priority,
                                                input_price_per_million, output_price_per_million, context_tokens)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """,
                [
                    .text(groupName), .int(position), .text(model.modelName), .text(model.provider), .int(model.priority),
                    .numeric(model.inputPricePerMillion), .numeric(model.outputPricePerMillion), PostgresBind(model.contextTokens),
                ]
            )
        }
    }

    static let select = """
        SELECT g.group_name, g.display_name, g.description, g.created_at, g.updated_at,
               (SELECT COALESCE(json_agg(json_build_object(
                        'model_name', m.model_name, 'provider', m.provider, 'priority', m.priority,
                        'input_price_per_million', m.input_price_per_million::text,
                        'output_price_per_million', m.output_price_per_million::text,
                        'context_tokens', m.context_tokens) ORDER BY m.priority, m.position), '[]'::json)
                  FROM model_group_models m WHERE m.group_name = g.group_name) AS models
        FROM model_groups g
        """

    static func fetch(_ groupName: String, _ session: PostgresSession) async throws -> ModelGroup {
        let rows = try await session.query(select + " WHERE g.group_name = $1", [.text(groupName)])
        guard let row = rows.first else { throw DomainError.modelGroupNotFound(groupName) }
        return try decode(row)
    }

    private struct StoredModel: Decodable {
        var model_name: String
        var provider: String
        var priority: Int
        var input_price_per_million: String
        var output_price_per_million: String
        var context_tokens: Int?
    }

    static func decode(_ row: PostgresRow) throws -> ModelGroup {
        let models = try JSONDecoder().decode([StoredModel].self, from: row.decode("models", as: PostgresJSON.self).data)
        return ModelGroup(
            groupName: try row.decode("group_name"),
            displayName: try row.decodeIfPresent("display_name"),
            description: try row.decodeIfPresent("description"),
            models: models.map {
                ModelEntry(
                    modelName: $0.model_name,
                    provider: $0.provider,
                    priority: $0.priority,
                    inputPricePerMillion: Decimal(postgresText: $0.input_price_per_million) ?? 0,
                    outputPricePerMillion: Decimal(postgresText: $0.output_price_per_million) ?? 0,
                    contextTokens: $0.context_tokens
                )
            },
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at")
        )
    }
}
