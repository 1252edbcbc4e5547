import Foundation
import Postgres
import Synchronization
import Testing

@testable import Shared

@Suite("PostgreSQL layer over libpq")
struct PostgresClientTests {
    /// A scratch table of this test's own, dropped at the end.
    private func withScratchTable<T: Sendable>(
        _ postgres: PostgresClient,
        columns: String = "id serial PRIMARY KEY, name text, n bigint",
        _ body: (String) async throws -> T
    ) async throws -> T {
        try await postgres.withScratchTable(prefix: "scratch", columns: columns, body)
    }

    @Test("hostile strings are bound, never interpolated")
    func hostileStrings() async throws {
        let postgres = TestEnvironment.postgres()
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            let hostile = [
                "'; DROP TABLE \(table); --",
                "Robert'); DROP TABLE students;--",
                "\"double\" 'single' `back` \\ backslash $1 $$ dollar",
                "ünïcödé 日本語 emoji 🧪 \u{200B}",
                "",
            ]
            for value in hostile {
                try await postgres.query("INSERT INTO \(table) (name) VALUES ($1)", [.text(value)])
            }
            let rows = try await postgres.query("SELECT name FROM \(table) ORDER BY id")
            #expect(try rows.map { try $0.decode("name", as: String.self) } == hostile)
            let found = try await postgres.query("SELECT count(*) AS c FROM \(table) WHERE name = $1", [.text(hostile[0])])
            #expect(try found.first?.decode("c", as: Int.self) == 1)
        }
    }

    @Test("every decoded type round-trips")
    func typesRoundTrip() async throws {
        let postgres = TestEnvironment.postgres()
        defer { postgres.shutdown() }
        let id = UUID()
        let now = Date(timeIntervalSince1970: 1_795_000_000.123456)
        let money = Decimal(string: "12345.678901")!
        let json = #"{"a": [1, 2, {"b": "c\"d"}], "e": null}"#
        let bytes: [UInt8] = [0, 1, 2, 254, 255]
        let rows = try await postgres.query(
            """
            SELECT $1::bigint AS i, $2::text AS t, $3::boolean AS b, $4::numeric AS n, $5::uuid AS u,
                   $6::timestamptz AS ts, $7::jsonb AS j, $8::bytea AS y, $9::text AS nothing,
                   $10::double precision AS d, $11::text[] AS arr, -9223372036854775807::bigint AS big
            """,
            [
                .int(-42), .text("hello"), .bool(true), .numeric(money), .uuid(id), .timestamp(now), .json(json),
                .bytea(bytes), .null, .double(0.25), .textArray(["a", "b,c", "d\"e"]),
            ]
        )
        let row = try #require(rows.first)
        #expect(try row.decode("i", as: Int.self) == -42)
        #expect(try row.decode("t", as: String.self) == "hello")
        #expect(try row.decode("b", as: Bool.self) == true)
        #expect(try row.decode("n", as: Decimal.self) == money)
        #expect(try row.decode("u", as: UUID.self) == id)
        let decodedDate = try row.decode("ts", as: Date.self)
        #expect(abs(decodedDate.timeIntervalSince1970 - now.timeIntervalSince1970) < 0.000_002)
        let decodedJSON = try JSONSerialization.jsonObject(with: row.decode("j", as: PostgresJSON.self).data) as? [String: Any]
        #expect((decodedJSON?["a"] as? [Any])?.count == 3)
        #expect(try row.decode("y", as: PostgresBytes.self).bytes == bytes)
        #expect(try row.decodeIfPresent("nothing", as: String.self) == nil)
        #expect(throws: PostgresError.self) { try row.decode("nothing", as: String.self) }
        #expect(try row.decode("d", as: Double.self) == 0.25)
        #expect(try row.decode("arr", as: String.self) == #"{a,"b,c","d\"e"}"#)
        #expect(try row.decode("big", as: Int.self) == -9_223_372_036_854_775_807)
        #expect(throws: PostgresError.missingColumn("nope")) { try row.decode("nope", as: Int.self) }
    }

    @Test("text array elements round-trip whole, a quote or backslash that a combining mark follows included")
    func textArrayEscapes() async throws {
        let postgres = TestEnvironment.postgres()
        defer { postgres.shutdown() }
        // As graphemes, `"` + U+0301 is not `"`: an escape decided per Character missed it and
        // PostgreSQL read the quote as the element's end. Escaping is per byte.
        let values: [String?] = ["a\"\u{301}b", "c\\\u{301}d", #"\"\\"#, "e\u{1F600}f", "", nil, "g,h}{", "NULL"]
        let rows = try await postgres.query(
            "SELECT ord, v FROM unnest($1::text[]) WITH ORDINALITY AS a(v, ord) ORDER BY ord",
            [.textArray(values)]
        )
        #expect(rows.count == values.count)
        for (row, value) in zip(rows, values) {
            #expect(try row.decodeIfPresent("v", as: String.self) == value)
        }
    }

    @Test("a thrown error rolls the transaction back")
    func rollbackOnThrow() async throws {
        struct Boom: Error {}
        let postgres = TestEnvironment.postgres()
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            await #expect(throws: Boom.self) {
                try await postgres.withTransaction { tx in
                    try await tx.query("INSERT INTO \(table) (name) VALUES ($1)", ["kept?"])
                    throw Boom()
                }
            }
            // A server error inside the transaction rolls it back too.
            await #expect(throws: PostgresError.self) {
                try await postgres.withTransaction { tx in
                    try await tx.query("INSERT INTO \(table) (name) VALUES ($1)", ["kept?"])
                    try await tx.query("INSERT INTO \(table) (id) VALUES ($1)", ["not a number"])
                }
            }
            let count = try await postgres.query("SELECT count(*) AS c FROM \(table)")
            #expect(try count.first?.decode("c", as: Int.self) == 0)
            let committed = try await postgres.withTransaction { tx in
                try await tx.query("INSERT INTO \(table) (name) VALUES ($1) RETURNING id", ["kept"]).first?.decode("id", as: Int.self)
            }
            #expect(committed != nil)
        }
    }

    @Test("errors carry SQLSTATE and message")
    func errorsCarrySQLState() async throws {
        let postgres = TestEnvironment.postgres()
        defer { postgres.shutdown() }
        try await withScratchTable(postgres, columns: "id int PRIMARY KEY, n int CHECK (n >= 0)") { table in
            try await postgres.query("INSERT INTO \(table) (id, n) VALUES (1, 1)")
            do {
                try await postgres.query("INSERT INTO \(table) (id, n) VALUES (1, 1)")
                Issue.record("expected a unique violation")
            } catch let error as PostgresError {
                #expect(error.sqlState == PostgresError.Code.uniqueViolation)
            }
            do {
                try await postgres.query("UPDATE \(table) SET n = $1 WHERE id = 1", [.int(-5)])
                Issue.record("expected a check violation")
            } catch let error as PostgresError {
                #expect(error.sqlState == PostgresError.Code.checkViolation)
                #expect(error.description.contains("23514"))
            }
        }
    }

    @Test("serialization failures are retried until the transaction commits")
    func serializationRetry() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 8)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres, columns: "id int PRIMARY KEY, n bigint NOT NULL") { table in
            try await postgres.query("INSERT INTO \(table) (id, n) VALUES (1, 0)")
            let attempts = Counter()
            // Read-then-write under SERIALIZABLE from 8 tasks at once: most first attempts fail
            // with 40001 and are run again; no increment may be lost.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await postgres.withTransaction(isolation: .serializable, maxAttempts: 50) { tx in
                            attempts.increment()
                            let n = try await tx.query("SELECT n FROM \(table) WHERE id = 1").first!.decode("n", as: Int.self)
                            try await Task.sleep(for: .milliseconds(5))
                            try await tx.query("UPDATE \(table) SET n = $1 WHERE id = 1", [.int(n + 1)])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let n = try await postgres.query("SELECT n FROM \(table) WHERE id = 1").first!.decode("n", as: Int.self)
            #expect(n == 8)
            #expect(attempts.value > 8, "expected some serialization failures to be retried")
        }
    }

    @Test("a pool of 4 serves 100 concurrent users without deadlock")
    func poolExhaustion() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 4)
        defer { postgres.shutdown() }
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<100 {
                group.addTask {
                    try await postgres.withTransaction { tx in
                        try await tx.query("SELECT pg_sleep(0.01)")
                        return try await tx.query("SELECT $1::int AS v", [.int(i)]).first!.decode("v", as: Int.self)
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == (0..<100).reduce(0, +))
        let connections = try await postgres.query(
            "SELECT count(*) AS c FROM pg_stat_activity WHERE application_name = 'saas-tests' AND datname = current_database()"
        )
        #expect(try connections.first!.decode("c", as: Int.self) >= 1)
    }

    @Test("a waiter for an exhausted pool can be cancelled")
    func cancelledWaiter() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        let holder = Task { try await postgres.withConnection { try await $0.query("SELECT pg_sleep(0.5)") } }
        try await Task.sleep(for: .milliseconds(100))
        let waiter = Task { try await postgres.query("SELECT 1") }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        _ = try await holder.value
        #expect(try await postgres.query("SELECT 1 AS one").first?.decode("one", as: Int.self) == 1)
    }

    @Test("reconnects after pg_terminate_backend")
    func reconnectAfterTerminate() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        let pid = try await postgres.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
        let admin = TestEnvironment.postgres(poolSize: 1)
        defer { admin.shutdown() }
        let terminated = try await admin.query("SELECT pg_terminate_backend($1::int) AS ok", [.int(pid)])
        #expect(try terminated.first!.decode("ok", as: Bool.self))
        try await Task.sleep(for: .milliseconds(100))
        let newPid = try await postgres.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
        #expect(newPid != pid)
    }

    @Test("a connection lost inside a transaction retries the whole transaction")
    func connectionLostInTransaction() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        let admin = TestEnvironment.postgres(poolSize: 1)
        defer { admin.shutdown() }
        try await withScratchTable(admin) { table in
            let attempts = Counter()
            try await postgres.withTransaction { tx in
                attempts.increment()
                let pid = try await tx.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
                try await tx.query("INSERT INTO \(table) (name) VALUES ($1)", ["once"])
                if attempts.value == 1 {
                    _ = try await admin.query("SELECT pg_terminate_backend($1::int)", [.int(pid)])
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await tx.query("SELECT 1")
            }
            #expect(attempts.value == 2)
            let rows = try await admin.query("SELECT count(*) AS c FROM \(table)")
            #expect(try rows.first!.decode("c", as: Int.self) == 1)
        }
    }
}

/// A thread-safe counter for tests.
final class Counter: Sendable {
    private let storage = Synchronization.Mutex(0)
    func increment() { storage.withLock { $0 += 1 } }
    var value: Int { storage.withLock { $0 } }
}
