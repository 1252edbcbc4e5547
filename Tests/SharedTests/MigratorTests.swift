import Foundation
import Postgres
import Testing

@testable import Shared

@Suite("Migrations")
struct MigratorTests {
    /// A throwaway database for this test, created and dropped around `body`.
    private func withFreshDatabase(_ body: (String) async throws -> Void) async throws {
        let name = "migr_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = TestEnvironment.postgres(poolSize: 1)
        defer { admin.shutdown() }
        // CREATE DATABASE takes no parameters; the name is generated above.
        try await admin.withConnection { try await $0.executeScript("CREATE DATABASE \(name)") }
        // An autovacuum worker (a superuser's process) may be analysing the new tables: FORCE
        // cannot end it for a plain role, and the drop succeeds once it is done.
        func drop() async throws {
            for attempt in 1...20 {
                do {
                    try await admin.withConnection { try await $0.executeScript("DROP DATABASE \(name) WITH (FORCE)") }
                    return
                } catch  where attempt < 20 {
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
        }
        do {
            let url = TestEnvironment.url(ofDatabase: name)
            try await body(url)
        } catch {
            try? await drop()
            throw error
        }
        try await drop()
    }

    private func schemaFingerprint(_ client: PostgresClient) async throws -> [String] {
        try await client.query(
            """
            SELECT table_name || '.' || column_name || ':' || data_type AS c
            FROM information_schema.columns WHERE table_schema = 'public'
            UNION ALL
            SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT 'constraint ' || conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint
            WHERE connamespace = 'public'::regnamespace
            ORDER BY 1
            """
        ).map { try $0.decode("c", as: String.self) }
    }

    @Test("migrating twice leaves the schema unchanged")
    func idempotent() async throws {
        try await withFreshDatabase { url in
            let client = PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 2))
            defer { client.shutdown() }
            let migrator = try Migrator(client: client)
            let first = try await migrator.migrate()
            #expect(first == migrator.migrations.map(\.version))
            let schema = try await schemaFingerprint(client)
            #expect(schema.contains { $0.hasPrefix("jobs.job_id") })
            #expect(try await migrator.migrate() == [])
            #expect(try await schemaFingerprint(client) == schema)
        }
    }

    @Test("two migrators at once do not collide")
    func concurrent() async throws {
        try await withFreshDatabase { url in
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        // Separate clients, as separate processes would have.
                        let client = PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 1))
                        defer { client.shutdown() }
                        return try await Migrator(client: client).migrate()
                    }
                }
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            let all = try Migrator.bundled().map(\.version)
            #expect(results.filter { !$0.isEmpty } == [all])
            let client = PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 1))
            defer { client.shutdown() }
            let recorded = try await client.query("SELECT count(*) AS c FROM schema_migrations")
            #expect(try recorded.first!.decode("c", as: Int.self) == all.count)
        }
    }

    @Test("the schema's constraints hold the money invariants")
    func constraints() async throws {
        try await withFreshDatabase { url in
            let client = PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 1))
            defer { client.shutdown() }
            try await Migrator(client: client).migrate()
            try await client.query("INSERT INTO organizations (organization_id, name) VALUES ($1, $2)", ["org-1", "Org"])
            try await client.query("INSERT INTO teams (team_id, organization_id) VALUES ($1, $2)", ["team-1", "org-1"])
            try await client.query("INSERT INTO credit_accounts (team_id, credits_allocated) VALUES ($1, $2)", ["team-1", 10])
            // Remaining may not go below zero.
            do {
                try await client.query("UPDATE credit_accounts SET credits_reserved = $1 WHERE team_id = $2", [11, "team-1"])
                Issue.record("expected the balance check to refuse")
            } catch let error as PostgresError {
                #expect(error.sqlState == PostgresError.Code.checkViolation)
            }
            // Identifiers are checked.
            await #expect(throws: PostgresError.self) {
                try await client.query("INSERT INTO organizations (organization_id, name) VALUES ($1, $2)", ["bad id!", "x"])
            }
        }
    }
}
