import Foundation
public import Logging
public import Postgres

/// Applies the numbered SQL files of `Migrations/` (`0001_initial.sql`, …) in order, each once and
/// in its own transaction, recorded in `schema_migrations`.
///
/// A session-level advisory lock serialises migrators, so API and worker processes starting side
/// by side do not collide: the second waits, then finds nothing left to do.
public struct Migrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    /// An arbitrary constant shared by every process of this service.
    static let lockKey = 7_240_113_501

    let client: PostgresClient
    let migrations: [Migration]
    let logger: Logger

    public init(client: PostgresClient, migrations: [Migration]? = nil, logger: Logger = Logger(label: "migrations")) throws {
        self.client = client
        self.migrations = try migrations ?? Self.bundled()
        self.logger = logger
    }

    /// Applies what is missing; returns the versions it applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await client.withConnection { session in
            try await session.query("SELECT pg_advisory_lock($1)", [.int(Self.lockKey)])
            do {
                let applied = try await apply(on: session)
                try await session.query("SELECT pg_advisory_unlock($1)", [.int(Self.lockKey)])
                return applied
            } catch {
                _ = try? await session.query("SELECT pg_advisory_unlock($1)", [.int(Self.lockKey)])
                throw error
            }
        }
    }

    private func apply(on session: PostgresSession) async throws -> [Int] {
        try await session.executeScript(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        let done = Set(try await session.query("SELECT version FROM schema_migrations").map { try $0.decode("version", as: Int.self) })
        var applied: [Int] = []
        for migration in migrations where !done.contains(migration.version) {
            logger.info("applying migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            try await session.executeScript("BEGIN")
            do {
                try await session.executeScript(migration.sql)
                try await session.query(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    [.int(migration.version), .text(migration.name)]
                )
                try await session.executeScript("COMMIT")
            } catch {
                _ = try? await session.executeScript("ROLLBACK")
                throw error
            }
            applied.append(migration.version)
        }
        return applied
    }

    /// The migrations shipped in this module's resources, ordered by number.
    public static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw ConfigurationError.missing(variable: "Migrations resource directory")
        }
        return try load(from: directory)
    }

    static func load(from directory: URL) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }
        let migrations = try files.map { file -> Migration in
            guard let version = Int(file.prefix { $0.isNumber }) else {
                throw ConfigurationError.invalid(variable: "migration \(file)", reason: "does not start with a number")
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            return Migration(version: version, name: String(file.dropLast(4)), sql: sql)
        }.sorted { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw ConfigurationError.invalid(variable: "migration \(b.name)", reason: "repeats version \(a.version)")
        }
        return migrations
    }
}
