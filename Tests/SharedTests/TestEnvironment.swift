import Foundation
import Logging
import Postgres
import Redis

@testable import Shared

/// Where the tests find the project's own Redis and PostgreSQL (started by scripts/services.sh).
/// The test databases are separate from the development ones: PostgreSQL `saas_test`, Redis db 1.
enum TestEnvironment {
    static var databaseURL: String {
        ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] ?? "postgresql://saas:saas@127.0.0.1:5433/saas_test"
    }

    static var redisURL: String {
        ProcessInfo.processInfo.environment["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6381/1"
    }

    static func redisConfiguration(poolSize: Int = 2, commandTimeout: Double = 5) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: redisURL)
        configuration.poolSize = poolSize
        configuration.commandTimeout = commandTimeout
        return configuration
    }

    static func redis(poolSize: Int = 2, commandTimeout: Double = 5) throws -> RedisClient {
        RedisClient(configuration: try redisConfiguration(poolSize: poolSize, commandTimeout: commandTimeout))
    }

    static func postgres(poolSize: Int = 4) -> PostgresClient {
        PostgresClient(configuration: PostgresConfiguration(url: databaseURL, poolSize: poolSize, applicationName: "saas-tests"))
    }

    /// A database of its own, created (and migrated) on first use in a run: for suites whose
    /// reads are global to the database, as the sweeper's are — in `saas_test`, other suites'
    /// jobs, submitted in parallel, would be theirs to sweep. It is named after the test database
    /// (`saas_test_sweeper` for `saas_test` and `sweeper`), so runs given different test databases
    /// never share it.
    static func ownDatabase(_ suffix: String, poolSize: Int = 4) async throws -> PostgresClient {
        let name = "\(databaseName)_\(suffix)"
        precondition(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "a database name is an identifier")
        try await ownDatabases.prepare(name)
        return PostgresClient(configuration: PostgresConfiguration(url: url(ofDatabase: name), poolSize: poolSize, applicationName: "saas-tests"))
    }

    /// The test database's name, as `TEST_DATABASE_URL` gives it.
    static var databaseName: String {
        databaseURL.split(separator: "/").last.map { String($0.split(separator: "?").first ?? $0) } ?? "saas_test"
    }

    /// The test server's URL for another database on it.
    static func url(ofDatabase name: String) -> String {
        databaseURL.replacingOccurrences(of: "/" + databaseName, with: "/\(name)")
    }

    private static let ownDatabases = OwnDatabases()

    /// Creates each named database once per test run. Concurrent first callers share one
    /// creation (an actor alone would let them interleave at its awaits and both create it).
    private actor OwnDatabases {
        private var preparing: [String: Task<Void, any Error>] = [:]

        func prepare(_ name: String) async throws {
            if let task = preparing[name] { return try await task.value }
            let task = Task {
                let admin = TestEnvironment.postgres(poolSize: 1)
                defer { admin.shutdown() }
                if try await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [.text(name)]).isEmpty {
                    // CREATE DATABASE takes no parameters; the name was checked to be an identifier.
                    try await admin.withConnection { try await $0.executeScript("CREATE DATABASE \(name)") }
                }
                let client = PostgresClient(configuration: PostgresConfiguration(url: TestEnvironment.url(ofDatabase: name), poolSize: 1))
                defer { client.shutdown() }
                try await Migrator(client: client).migrate()
            }
            preparing[name] = task
            do {
                try await task.value
            } catch {
                preparing[name] = nil
                throw error
            }
        }
    }

    /// A key prefix unique to one test, so parallel tests never share keys.
    static func uniqueKey(_ name: String = #function) -> String {
        "test:\(name.prefix(20)):\(UUID().uuidString.prefix(8))"
    }
}
