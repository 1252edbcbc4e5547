import ArgumentParser
import Postgres
import Shared

/// `saas-bench postgres`: a single-row `SELECT` by primary key or a single-row `INSERT` through
/// ``PostgresClient``, the counterpart of `pgbench -M prepared -f bench/select.sql|insert.sql`.
///
/// The tables are made by `scripts/bench-foundation.sh` (psql), not here:
/// `bench_kv(k int primary key, v text)` with rows 1…100000, and
/// `bench_log(id bigserial primary key, k int, v text)`.
struct PostgresBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres",
        abstract: "Measure the PostgreSQL layer: single-row SELECT or INSERT."
    )

    enum Operation: String, ExpressibleByArgument, CaseIterable {
        case select, insert
    }

    @Option(help: "PostgreSQL URL.")
    var url: String = "postgresql://saas:saas@127.0.0.1:5433/saas"

    @Option(help: "select (one row of bench_kv by random k) | insert (one row into bench_log).")
    var op: Operation

    @OptionGroup var load: LoadOptions

    @Option(help: "Connections in the client's pool.")
    var pool: Int = 8

    @Option(help: "bench_kv holds k = 1…rows.")
    var rows: Int = 100_000

    func validate() throws {
        guard pool >= 1 else { throw ValidationError("--pool must be at least 1") }
        guard rows >= 1 else { throw ValidationError("--rows must be at least 1") }
    }

    // The statements of bench/select.sql and bench/insert.sql, with the values bound the way the
    // service binds them (`.int` goes as int8, which the int4 primary key's index serves as well).
    static let selectSQL = "SELECT v FROM bench_kv WHERE k = $1"
    static let insertSQL = "INSERT INTO bench_log (k, v) VALUES ($1, $2)"

    func run() async throws {
        let postgres = PostgresClient(
            configuration: PostgresConfiguration(url: url, poolSize: pool, applicationName: "saas-bench"),
            logger: stderrLogger("postgres")
        )
        defer { postgres.shutdown() }
        // Open every pooled connection before the clock starts (each is created on first use).
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<pool { group.addTask { try await postgres.query("SELECT 1") } }
            try await group.waitForAll()
        }

        let rows = UInt64(rows)
        let operation: @Sendable (inout FastRandom) async throws -> Int
        switch op {
        case .select:
            operation = { random in
                let k = Int(random.next() % rows) + 1
                let result = try await postgres.query(Self.selectSQL, [.int(k)])
                guard result.count == 1 else {
                    throw BenchError.unexpected("no bench_kv row for k = \(k); scripts/bench-foundation.sh fills the table")
                }
                return 1
            }
        case .insert:
            operation = { random in
                let k = Int(random.next() % rows) + 1
                let result = try await postgres.query(Self.insertSQL, [.int(k), .text("bench")])
                guard result.affectedRows == 1 else {
                    throw BenchError.unexpected("INSERT affected \(result.affectedRows) rows")
                }
                return 1
            }
        }
        let result = try await LoadRunner.run(
            clients: load.clients,
            warmup: load.warmup,
            seconds: load.seconds,
            operation: operation
        )
        BenchReport(bench: "postgres", op: op.rawValue, clients: load.clients, pool: pool, result: result).print()
    }
}

enum BenchError: Error, CustomStringConvertible {
    case unexpected(String)

    var description: String {
        switch self {
        case .unexpected(let message): return message
        }
    }
}
