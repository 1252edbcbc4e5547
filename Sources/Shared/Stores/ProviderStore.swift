public import Foundation
public import Postgres

/// What may change on a provider; nil leaves a field as it is.
public struct ProviderChanges: Sendable {
    public var kind: ProviderKind?
    public var baseURL: String?
    public var sealedAPIKey: [UInt8]?
    public var rpm: Int??
    public var tpm: Int??
    public var timeoutSeconds: Int?

    public init(
        kind: ProviderKind? = nil,
        baseURL: String? = nil,
        sealedAPIKey: [UInt8]? = nil,
        rpm: Int?? = nil,
        tpm: Int?? = nil,
        timeoutSeconds: Int? = nil
    ) {
        self.kind = kind
        self.baseURL = baseURL
        self.sealedAPIKey = sealedAPIKey
        self.rpm = rpm
        self.tpm = tpm
        self.timeoutSeconds = timeoutSeconds
    }
}

/// The most recent failed call through a provider, for admins to see why jobs moved elsewhere.
public struct ProviderLastError: Sendable, Hashable {
    public var message: String
    public var statusCode: Int?
    public var at: Date
}

/// Upstream providers. Keys arrive and leave sealed (see ``SecretBox``).
public protocol ProviderStore: Sendable {
    func create(
        name: String,
        kind: ProviderKind,
        baseURL: String,
        sealedAPIKey: [UInt8],
        rpm: Int?,
        tpm: Int?,
        timeoutSeconds: Int
    ) async throws -> Provider
    func list() async throws -> [Provider]
    func get(_ name: String) async throws -> Provider
    func update(_ name: String, _ changes: ProviderChanges) async throws -> Provider
    func delete(_ name: String) async throws
    /// The sealed key, for the process about to call the provider.
    func sealedAPIKey(_ name: String) async throws -> [UInt8]
    func lastErrors() async throws -> [String: ProviderLastError]
}

public struct PostgresProviderStore: ProviderStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    static let columns = "name, kind, base_url, rpm, tpm, timeout_seconds, created_at, updated_at"

    public func create(
        name: String,
        kind: ProviderKind,
        baseURL: String,
        sealedAPIKey: [UInt8],
        rpm: Int?,
        tpm: Int?,
        timeoutSeconds: Int
    ) async throws -> Provider {
        do {
            let rows = try await postgres.query(
                """
                INSERT INTO providers (name, kind, base_url, api_key_encrypted, rpm, tpm, timeout_seconds)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING \(Self.columns)
                """,
                [.text(name), .text(kind.rawValue), .text(baseURL), .bytea(sealedAPIKey), PostgresBind(rpm), PostgresBind(tpm), .int(timeoutSeconds)]
            )
            return try Self.decode(rows.first!)
        } catch let error as PostgresError where error.sqlState == PostgresError.Code.uniqueViolation {
            throw DomainError.providerExists(name)
        }
    }

    public func list() async throws -> [Provider] {
        try await postgres.query("SELECT \(Self.columns) FROM providers ORDER BY name").map(Self.decode)
    }

    public func get(_ name: String) async throws -> Provider {
        guard let row = try await postgres.query("SELECT \(Self.columns) FROM providers WHERE name = $1", [.text(name)]).first else {
            throw DomainError.providerNotFound(name)
        }
        return try Self.decode(row)
    }

    public func update(_ name: String, _ changes: ProviderChanges) async throws -> Provider {
        // A double optional: absent leaves the limit, an explicit null clears it.
        func limit(_ value: Int??) -> (set: Bool, value: PostgresBind) {
            switch value {
            case .none: return (false, .null)
            case .some(let inner): return (true, PostgresBind(inner))
            }
        }
        let rpm = limit(changes.rpm)
        let tpm = limit(changes.tpm)
        let rows = try await postgres.query(
            """
            UPDATE providers SET
                kind = COALESCE($2, kind), base_url = COALESCE($3, base_url),
                api_key_encrypted = COALESCE($4, api_key_encrypted),
                rpm = CASE WHEN $5 THEN $6 ELSE rpm END, tpm = CASE WHEN $7 THEN $8 ELSE tpm END,
                timeout_seconds = COALESCE($9, timeout_seconds), updated_at = now()
            WHERE name = $1 RETURNING \(Self.columns)
            """,
            [
                .text(name), PostgresBind(changes.kind?.rawValue), PostgresBind(changes.baseURL), changes.sealedAPIKey.map { .bytea($0) } ?? .null,
                .bool(rpm.set), rpm.value, .bool(tpm.set), tpm.value, PostgresBind(changes.timeoutSeconds),
            ]
        )
        guard let row = rows.first else { throw DomainError.providerNotFound(name) }
        return try Self.decode(row)
    }

    public func delete(_ name: String) async throws {
        do {
            let deleted = try await postgres.query("DELETE FROM providers WHERE name = $1", [.text(name)])
            guard deleted.affectedRows == 1 else { throw DomainError.providerNotFound(name) }
        } catch let error as PostgresError where error.sqlState == PostgresError.Code.foreignKeyViolation {
            throw DomainError.providerInUse(name)
        }
    }

    public func sealedAPIKey(_ name: String) async throws -> [UInt8] {
        guard let row = try await postgres.query("SELECT api_key_encrypted FROM providers WHERE name = $1", [.text(name)]).first else {
            throw DomainError.providerNotFound(name)
        }
        return try row.decode("api_key_encrypted", as: PostgresBytes.self).bytes
    }

    public func lastErrors() async throws -> [String: ProviderLastError] {
        let rows = try await postgres.query(
            """
            SELECT DISTINCT ON (provider) provider, error, status_code, created_at
            FROM job_calls WHERE error IS NOT NULL AND created_at > now() - interval '1 day'
            ORDER BY provider, created_at DESC
            """
        )
        var errors: [String: ProviderLastError] = [:]
        for row in rows {
            errors[try row.decode("provider")] = ProviderLastError(
                message: try row.decode("error"),
                statusCode: try row.decodeIfPresent("status_code"),
                at: try row.decode("created_at")
            )
        }
        return errors
    }

    static func decode(_ row: PostgresRow) throws -> Provider {
        Provider(
            name: try row.decode("name"),
            kind: ProviderKind(rawValue: try row.decode("kind")) ?? .openai,
            baseURL: try row.decode("base_url"),
            rpm: try row.decodeIfPresent("rpm"),
            tpm: try row.decodeIfPresent("tpm"),
            timeoutSeconds: try row.decode("timeout_seconds"),
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at")
        )
    }
}
