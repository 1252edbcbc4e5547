import Foundation
import Postgres
import Testing

@testable import Shared

/// The PostgreSQL layer without a thread per connection: statements are sent and read by the
/// calling task, and only the waits for the server go through the process's one reactor.
@Suite("PostgreSQL over non-blocking libpq and one reactor")
struct PostgresReactorTests {
    @Test("400 statements over 16 connections, each waiting on the server: every caller gets its own answer")
    func manyWaitersOwnAnswers() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 16)
        defer { postgres.shutdown() }
        let answers = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for n in 0..<400 {
                group.addTask {
                    // The sleep keeps many sockets waiting at once, so the reactor serves several
                    // in one wakeup; a wakeup handed to the wrong task would show as a wrong number.
                    let row = try await postgres.query("SELECT $1::int AS n, pg_sleep(0.005)::text AS slept", [.int(n)])
                    return (n, try row.first!.decode("n", as: Int.self))
                }
            }
            var answers: [(Int, Int)] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
        #expect(answers.count == 400)
        #expect(answers.allSatisfy { $0.0 == $0.1 })
    }

    @Test("a pipeline far larger than the socket's buffers is sent while its answers are read: no deadlock")
    func hugePipeline() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        // About 1 MB of statements out and 8 MB of answers back: both directions fill their
        // buffers, so sending must read meanwhile.
        let statements = (0..<8_000).map { n in
            PostgresStatement(
                "SELECT $1::int AS n, repeat('x', 1000) AS pad, $2::text AS echo",
                [.int(n), .text(String(repeating: "y", count: 100))]
            )
        }
        let rows = try await postgres.withConnection { try await $0.pipeline(statements) }
        #expect(rows.count == 8_000)
        #expect(try rows.enumerated().allSatisfy { index, result in try result.first!.decode("n", as: Int.self) == index })
        #expect(try rows.last!.first!.decode("pad", as: String.self).count == 1000)
    }

    @Test("a backend terminated while its caller waits: the caller gets connectionLost at once, the pool goes on")
    func terminatedWhileWaiting() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        let admin = TestEnvironment.postgres(poolSize: 1)
        defer { admin.shutdown() }
        let pid = try await postgres.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
        let started = ContinuousClock.now
        let sleeper = Task { try await postgres.query("SELECT pg_sleep(30)") }
        // Until the sleep is running on that backend.
        let deadline = ContinuousClock.now + .seconds(20)
        while try await admin.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'",
            [.int(pid)]
        ).first!.decode("n", as: Int.self) == 0 {
            #expect(ContinuousClock.now < deadline)
            if ContinuousClock.now >= deadline { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = try await admin.query("SELECT pg_terminate_backend($1::int)", [.int(pid)])
        await #expect {
            try await sleeper.value
        } throws: { error in
            guard let error = error as? PostgresError, case .connectionLost = error else { return false }
            return true
        }
        #expect(ContinuousClock.now - started < .seconds(25))
        let newPid = try await postgres.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
        #expect(newPid != pid)
    }

    @Test("a server error mid-way through a simple multi-statement script is reported, and the connection still works")
    func scriptError() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        await #expect {
            try await postgres.withConnection { try await $0.executeScript("SELECT 1; SELECT 1/0; SELECT 3") }
        } throws: { error in
            (error as? PostgresError)?.sqlState == "22012"
        }
        let rows = try await postgres.withConnection { try await $0.executeScript("SELECT 1 AS a; SELECT 2 AS b") }
        #expect(try rows.first!.decode("b", as: Int.self) == 2)
    }
}
