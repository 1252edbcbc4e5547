import Foundation
import MetricsTesting
import Telemetry
import Testing

@testable import Postgres

/// libpq's pipeline mode through ``PostgresSession/pipeline(_:)`` and
/// ``PostgresClient/withPipelinedTransaction(isolation:maxAttempts:kind:_:)``: one hand-off and one
/// round trip for many statements, with the semantics of a transaction whose statements ran one
/// at a time.
@Suite("PostgreSQL pipeline mode")
struct PostgresPipelineTests {
    /// A scratch table of this test's own, dropped at the end.
    private func withScratchTable<T: Sendable>(
        _ postgres: PostgresClient,
        columns: String = "id int PRIMARY KEY, name text",
        _ body: (String) async throws -> T
    ) async throws -> T {
        try await postgres.withScratchTable(prefix: "pipeline", columns: columns, body)
    }

    private func count(_ table: String) async throws -> Int {
        // A fresh client: nothing of the tested connection's session state can leak into the answer.
        let fresh = TestEnvironment.postgres(poolSize: 1)
        defer { fresh.shutdown() }
        return try await fresh.query("SELECT count(*) AS c FROM \(table)").first!.decode("c", as: Int.self)
    }

    private func insert(_ table: String, _ id: Int, _ name: String = "row") -> PostgresStatement {
        PostgresStatement("INSERT INTO \(table) (id, name) VALUES ($1, $2) RETURNING id", [.int(id), .text(name)])
    }

    @Test("answers come back in the statements' order, prepared and cached statements alike")
    func resultsInOrder() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        let statements = [
            PostgresStatement("SELECT $1::int AS v", [.int(1)]),
            PostgresStatement("SELECT $1::text AS v, 2 AS w", [.text("two")]),
            PostgresStatement("SELECT $1::int AS v", [.int(3)]),  // the same text twice in one pipeline
            PostgresStatement("SELECT generate_series(1, $1::int) AS v", [.int(4)]),
        ]
        for _ in 0..<2 {  // cold (prepared within the pipeline), then from the statement cache
            let rows = try await postgres.withConnection { try await $0.pipeline(statements) }
            #expect(rows.count == 4)
            #expect(try rows[0].first?.decode("v", as: Int.self) == 1)
            #expect(try rows[1].first?.decode("v", as: String.self) == "two")
            #expect(try rows[1].first?.decode("w", as: Int.self) == 2)
            #expect(try rows[2].first?.decode("v", as: Int.self) == 3)
            #expect(try rows[3].map { try $0.decode("v", as: Int.self) } == [1, 2, 3, 4])
        }
        #expect(try await postgres.withConnection { try await $0.pipeline([]) }.isEmpty)
    }

    @Test("the last writes and COMMIT commit together, and their rows reach the body's value")
    func commitTogether() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            let ids = try await postgres.withPipelinedTransaction(kind: .submit) { tx in
                try await tx.query("INSERT INTO \(table) (id, name) VALUES (1, 'first')")
                return PostgresCommit([insert(table, 2), insert(table, 3), PostgresStatement("UPDATE \(table) SET name = 'changed' WHERE id = 1")]) {
                    rows in
                    try rows.prefix(2).map { try $0.first!.decode("id", as: Int.self) } + [rows[2].affectedRows]
                }
            }
            #expect(ids == [2, 3, 1])
            #expect(try await count(table) == 3)
            let fresh = TestEnvironment.postgres(poolSize: 1)
            defer { fresh.shutdown() }
            let name = try await fresh.query("SELECT name FROM \(table) WHERE id = 1").first!.decode("name", as: String.self)
            #expect(name == "changed")
        }
    }

    @Test("an error in the 2nd of 3 statements rolls everything back and carries its SQLSTATE")
    func errorRollsBackAll() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            try await postgres.query("INSERT INTO \(table) (id, name) VALUES (10, 'existing')")
            let attempts = Counter()
            do {
                try await postgres.withPipelinedTransaction { tx in
                    attempts.increment()
                    try await tx.query("INSERT INTO \(table) (id, name) VALUES (1, 'before')")
                    return PostgresCommit([insert(table, 2), insert(table, 10), insert(table, 3)], value: ())
                }
                Issue.record("expected a unique violation")
            } catch let error as PostgresError {
                #expect(error.sqlState == PostgresError.Code.uniqueViolation)
                #expect(!error.isTransient)
            }
            #expect(attempts.value == 1)
            #expect(try await count(table) == 1)
            // A pipeline inside a transaction's body: the body's error rolls it back.
            await #expect(throws: PostgresError.self) {
                try await postgres.withTransaction { tx in
                    try await tx.pipeline([insert(table, 4), PostgresStatement("SELECT 1 / $1::int", [.int(0)]), insert(table, 5)])
                }
            }
            // Outside a transaction, a pipeline is one implicit transaction: all or nothing.
            do {
                try await postgres.withConnection { try await $0.pipeline([insert(table, 6), insert(table, 10), insert(table, 7)]) }
                Issue.record("expected a unique violation")
            } catch let error as PostgresError {
                #expect(error.sqlState == PostgresError.Code.uniqueViolation)
            }
            #expect(try await count(table) == 1)
        }
    }

    @Test("after a unique violation the caller's retry with other values commits, on the same connection")
    func uniqueViolationThenRetry() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            try await postgres.query("INSERT INTO \(table) (id, name) VALUES (1, 'taken')")
            let pid = try await postgres.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
            var id = 1
            var tries = 0
            while true {
                tries += 1
                do {
                    try await postgres.withPipelinedTransaction { _ in PostgresCommit([insert(table, id)], value: ()) }
                    break
                } catch let error as PostgresError where error.sqlState == PostgresError.Code.uniqueViolation {
                    id += 1
                }
            }
            #expect(tries == 2)
            #expect(try await count(table) == 2)
            // Neither the failure nor the retry cost the connection.
            #expect(try await postgres.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self) == pid)
        }
    }

    @Test("a NUL character is refused before anything is sent, and the transaction rolls back")
    func nulRefused() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            try await postgres.withConnection { session in
                _ = try await session.query("SELECT 1")
                let before = try await session.exchanges
                await #expect(throws: PostgresError.invalidParameter("text must not contain NUL characters")) {
                    try await session.pipeline([insert(table, 1), insert(table, 2, "a\u{0}b")])
                }
                let after = try await session.exchanges
                #expect(after.roundTrips == before.roundTrips)
            }
            await #expect(throws: PostgresError.invalidParameter("text must not contain NUL characters")) {
                try await postgres.withPipelinedTransaction { tx in
                    try await tx.query("INSERT INTO \(table) (id, name) VALUES (1, 'before')")
                    return PostgresCommit([insert(table, 2), PostgresStatement("SELECT $1::jsonb", [.json(#"{"a":"\u0000"}"#)])], value: ())
                }
            }
            #expect(try await count(table) == 0)
        }
    }

    @Test("the connection works normally after every kind of failure, never left in pipeline mode")
    func usableAfterwards() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            let failures: [[PostgresStatement]] = [
                [PostgresStatement("SELECT * FROM no_such_table_here")],  // fails at prepare
                [insert(table, 1), PostgresStatement("SELECT 1 / $1::int", [.int(0)])],  // fails at execute
                [PostgresStatement("SELECT $1::int", [.text("not a number")]), insert(table, 2)],
            ]
            for statements in failures {
                await #expect(throws: PostgresError.self) {
                    try await postgres.withPipelinedTransaction { _ in PostgresCommit(statements, value: ()) }
                }
                await #expect(throws: PostgresError.self) { try await postgres.withConnection { try await $0.pipeline(statements) } }
                // Plain statements, a transaction and a pipeline all work again.
                #expect(try await postgres.query("SELECT $1::int AS v", [.int(7)]).first?.decode("v", as: Int.self) == 7)
                let status = try await postgres.query("SELECT 1 AS one")
                #expect(status.count == 1)
            }
            try await postgres.withTransaction { tx in try await tx.query("INSERT INTO \(table) (id, name) VALUES (3, 'plain')") }
            let rows = try await postgres.withConnection { try await $0.pipeline([PostgresStatement("SELECT count(*) AS c FROM \(table)")]) }
            #expect(try rows[0].first?.decode("c", as: Int.self) == 1)
        }
    }

    @Test("serialization failures in a pipelined transaction are retried until it commits")
    func serializationRetry() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 8)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres, columns: "id int PRIMARY KEY, n bigint NOT NULL") { table in
            try await postgres.query("INSERT INTO \(table) (id, n) VALUES (1, 0)")
            let attempts = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await postgres.withPipelinedTransaction(isolation: .serializable, maxAttempts: 50) { tx in
                            attempts.increment()
                            let n = try await tx.query("SELECT n FROM \(table) WHERE id = 1").first!.decode("n", as: Int.self)
                            try await Task.sleep(for: .milliseconds(5))
                            return PostgresCommit([PostgresStatement("UPDATE \(table) SET n = $1 WHERE id = 1", [.int(n + 1)])], value: ())
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

    @Test("a deadlock in a pipelined transaction is retried")
    func deadlockRetry() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 2)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres, columns: "id int PRIMARY KEY, n bigint NOT NULL") { table in
            try await postgres.query("INSERT INTO \(table) (id, n) VALUES (1, 0), (2, 0)")
            let attempts = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (first, second) in [(1, 2), (2, 1)] {
                    group.addTask {
                        try await postgres.withPipelinedTransaction(maxAttempts: 10) { tx in
                            attempts.increment()
                            try await tx.query("UPDATE \(table) SET n = n + 1 WHERE id = $1", [.int(first)])
                            try await Task.sleep(for: .milliseconds(200))
                            let update = PostgresStatement("UPDATE \(table) SET n = n + 1 WHERE id = $1", [.int(second)])
                            return PostgresCommit([update], value: ())
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total = try await postgres.query("SELECT sum(n)::bigint AS s FROM \(table)").first!.decode("s", as: Int.self)
            #expect(total == 4)
            #expect(attempts.value >= 3, "one of the two must have deadlocked and run again")
        }
    }

    @Test("N statements and COMMIT are one hand-off and one round trip")
    func oneRoundTrip() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            let statements = (1...5).map { insert(table, $0) }
            // Outside a transaction: 5 statements, 1 exchange (cold: prepared within it).
            try await postgres.withConnection { session in
                let before = try await session.exchanges
                try await session.pipeline(statements + [PostgresStatement("DELETE FROM \(table)")])
                let after = try await session.exchanges
                #expect(after.handOffs - before.handOffs == 1)
                #expect(after.roundTrips - before.roundTrips == 1)
            }
            // A transaction: BEGIN with the lock-and-read, then the writes with COMMIT: 2, whatever N.
            try await postgres.query("SELECT count(*) FROM \(table)")  // prepared: later runs are 1 round trip
            let start = try await postgres.withConnection { try await $0.exchanges }
            try await postgres.withPipelinedTransaction { tx in
                try await tx.query("SELECT count(*) FROM \(table)")
                return PostgresCommit(statements, value: ())
            }
            let end = try await postgres.withConnection { try await $0.exchanges }
            #expect(end.handOffs - start.handOffs == 2)
            #expect(end.roundTrips - start.roundTrips == 2)
            #expect(try await count(table) == 5)
            // Only writes: BEGIN, the writes and COMMIT are one exchange.
            try await postgres.query("DELETE FROM \(table)")
            let writesStart = try await postgres.withConnection { try await $0.exchanges }
            try await postgres.withPipelinedTransaction { _ in PostgresCommit(statements, value: ()) }
            let writesEnd = try await postgres.withConnection { try await $0.exchanges }
            #expect(writesEnd.handOffs - writesStart.handOffs == 1)
            #expect(writesEnd.roundTrips - writesStart.roundTrips == 1)
            #expect(try await count(table) == 5)
            // The same transaction one statement at a time: BEGIN with the first, 5 more, COMMIT.
            try await postgres.query("DELETE FROM \(table)")
            let plainStart = try await postgres.withConnection { try await $0.exchanges }
            try await postgres.withTransaction { tx in
                try await tx.query("SELECT count(*) FROM \(table)")
                for statement in statements { try await tx.query(statement.sql, statement.binds) }
            }
            let plainEnd = try await postgres.withConnection { try await $0.exchanges }
            #expect(plainEnd.handOffs - plainStart.handOffs == 7)
            #expect(plainEnd.roundTrips - plainStart.roundTrips == 7)
            // A transaction that sends nothing costs nothing.
            let emptyStart = try await postgres.withConnection { try await $0.exchanges }
            try await postgres.withTransaction { _ in }
            let emptyEnd = try await postgres.withConnection { try await $0.exchanges }
            #expect(emptyEnd.handOffs == emptyStart.handOffs)
        }
    }

    @Test("BEGIN travels with the first statement and still sets the isolation level and the transaction's bounds")
    func beginTravelsWithFirstStatement() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            let level = try await postgres.withTransaction(isolation: .serializable) { tx in
                try await tx.query("SELECT current_setting('transaction_isolation') AS level").first!.decode("level", as: String.self)
            }
            #expect(level == "serializable")
            let pipelined = try await postgres.withTransaction(isolation: .repeatableRead) { tx in
                try await tx.pipeline([PostgresStatement("SELECT current_setting('transaction_isolation') AS level")])[0].first!
                    .decode("level", as: String.self)
            }
            #expect(pipelined == "repeatable read")
            // The first statement's failure rolls back what the transaction did: nothing, then the
            // next transaction starts clean.
            await #expect(throws: PostgresError.self) {
                try await postgres.withTransaction { tx in
                    try await tx.query("SELECT 1 / $1::int", [.int(0)])
                }
            }
            // Statements after the first are inside the transaction: a failure undoes them all.
            await #expect(throws: PostgresError.self) {
                try await postgres.withTransaction { tx in
                    try await tx.query("INSERT INTO \(table) (id, name) VALUES (1, 'a')")
                    try await tx.query("INSERT INTO \(table) (id, name) VALUES (2, 'b')")
                    try await tx.query("INSERT INTO \(table) (id, name) VALUES (1, 'again')")
                }
            }
            #expect(try await count(table) == 0)
            // A NUL in the first statement: refused, and nothing of the transaction stays open.
            await #expect(throws: PostgresError.self) {
                try await postgres.withTransaction { tx in try await tx.query("SELECT $1::text", [.text("a\u{0}")]) }
            }
            // (were the connection still inside a transaction, this row would stay invisible to others)
            try await postgres.query("INSERT INTO \(table) (id, name) VALUES (3, 'outside')")
            #expect(try await count(table) == 1)
        }
    }

    @Test("each attempt's time from BEGIN to the end of COMMIT is recorded under its kind")
    func transactionDuration() async throws {
        let metrics = RecordingMetrics()
        let postgres = PostgresClient(
            configuration: PostgresConfiguration(url: TestEnvironment.databaseURL, poolSize: 1, applicationName: "saas-tests"),
            metrics: metrics
        )
        defer { postgres.shutdown() }
        try await postgres.withPipelinedTransaction(kind: .settle) { tx in
            try await tx.query("SELECT pg_sleep(0.05)")
            return PostgresCommit([PostgresStatement("SELECT 1")], value: ())
        }
        try await postgres.withTransaction { tx in try await tx.query("SELECT 1") }
        _ = try? await postgres.withTransaction(kind: .submit) { tx in try await tx.query("SELECT 1 / $1::int", [.int(0)]) }
        let settle = metrics.values(MetricName.postgresTransactionDuration, [(MetricLabel.kind, "settle")])
        #expect(settle.count == 1)
        #expect(settle.allSatisfy { $0 >= 0.05 && $0 < 5 })
        #expect(metrics.values(MetricName.postgresTransactionDuration, [(MetricLabel.kind, "other")]).count == 1)
        #expect(metrics.values(MetricName.postgresTransactionDuration, [(MetricLabel.kind, "submit")]).count == 1)
        #expect(metrics.series(MetricName.postgresTransactionDuration).count == PostgresTransactionKind.allCases.count)
    }

    @Test("a connection lost before the pipeline is sent runs the transaction again")
    func connectionLostBeforeCommit() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        let admin = TestEnvironment.postgres(poolSize: 1)
        defer { admin.shutdown() }
        try await withScratchTable(admin) { table in
            let attempts = Counter()
            try await postgres.withPipelinedTransaction { tx in
                attempts.increment()
                let pid = try await tx.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
                if attempts.value == 1 {
                    _ = try await admin.query("SELECT pg_terminate_backend($1::int)", [.int(pid)])
                    try await Task.sleep(for: .milliseconds(100))
                }
                return PostgresCommit([insert(table, 1, "once")], value: ())
            }
            #expect(attempts.value == 2)
            #expect(try await count(table) == 1)
        }
    }

    @Test("a connection lost after the pipeline's COMMIT was sent is an unknown outcome, never retried")
    func connectionLostAfterCommitSent() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            let attempts = Counter()
            do {
                try await postgres.withPipelinedTransaction { _ in
                    attempts.increment()
                    // The backend ends itself mid-pipeline, with COMMIT already on its way.
                    return PostgresCommit([insert(table, 1), PostgresStatement("SELECT pg_terminate_backend(pg_backend_pid())")], value: ())
                }
                Issue.record("expected an unknown commit outcome")
            } catch let error as PostgresError {
                guard case .commitOutcomeUnknown = error else {
                    Issue.record("expected commitOutcomeUnknown, got \(error)")
                    return
                }
                #expect(!error.isTransient)
            }
            #expect(attempts.value == 1)
            // The pool's connection reconnects.
            #expect(try await postgres.query("SELECT 1 AS one").first?.decode("one", as: Int.self) == 1)
        }
    }

    @Test("a connection lost during a pipeline outside a transaction is an unknown outcome: it commits at its sync point")
    func connectionLostInImplicitTransaction() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        try await withScratchTable(postgres) { table in
            do {
                try await postgres.withConnection { session in
                    try await session.pipeline([insert(table, 1), PostgresStatement("SELECT pg_terminate_backend(pg_backend_pid())")])
                }
                Issue.record("expected an unknown commit outcome")
            } catch let error as PostgresError {
                guard case .commitOutcomeUnknown = error else {
                    Issue.record("expected commitOutcomeUnknown, got \(error)")
                    return
                }
                #expect(!error.isTransient)
            }
            #expect(try await postgres.query("SELECT 1 AS one").first?.decode("one", as: Int.self) == 1)
        }
    }
}
