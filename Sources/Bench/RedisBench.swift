import ArgumentParser
import Redis
import Shared

/// `saas-bench redis`: `SET`, `GET` or a pipelined batch of `SET`s through ``RedisClient``, the
/// counterpart of `redis-benchmark -t set,get [-P N] -r 100000 -d 3`.
struct RedisBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "Measure the Redis layer: SET, GET or a pipelined batch of SETs."
    )

    enum Operation: String, ExpressibleByArgument, CaseIterable {
        case set, get, pipeline
    }

    @Option(help: "Redis URL; use a database of its own (e.g. /2).")
    var url: String = "redis://127.0.0.1:6381/2"

    @Option(help: "set | get | pipeline (a batch of SETs sent with RedisClient.pipeline).")
    var op: Operation

    @OptionGroup var load: LoadOptions

    @Option(help: "Connections in the client's pool (default: RedisConfiguration's).")
    var pool: Int?

    @Option(help: "Bytes in each SET value (like redis-benchmark -d).")
    var valueSize: Int = 3

    @Option(help: "Commands per batch for --op pipeline (like redis-benchmark -P).")
    var pipeline: Int = 100

    @Option(help: "Keys are bench:key:<n> with n random below this (like redis-benchmark -r).")
    var keyspace: Int = 100_000

    func validate() throws {
        guard valueSize >= 0 else { throw ValidationError("--value-size must not be negative") }
        guard pipeline >= 1 else { throw ValidationError("--pipeline must be at least 1") }
        guard keyspace >= 1 else { throw ValidationError("--keyspace must be at least 1") }
        if let pool, pool < 1 { throw ValidationError("--pool must be at least 1") }
    }

    func run() async throws {
        var configuration = try RedisConfiguration(url: url)
        if let pool { configuration.poolSize = pool }
        let redis = RedisClient(configuration: configuration, logger: stderrLogger("redis"))
        defer { redis.shutdown() }
        // Connect every pooled connection before the clock starts.
        for _ in 0..<configuration.poolSize { try await redis.send("PING") }

        let keys = KeyMaker(prefix: "bench:key:", keyspace: keyspace)
        let value = RedisArgument(bytes: Array(repeating: UInt8(ascii: "x"), count: valueSize))
        let batch = pipeline
        let operation: @Sendable (inout FastRandom) async throws -> Int
        switch op {
        case .set:
            operation = { random in
                try await redis.send(RedisCommand(["SET", keys.next(&random), value]))
                return 1
            }
        case .get:
            operation = { random in
                try await redis.send(RedisCommand(["GET", keys.next(&random)]))
                return 1
            }
        case .pipeline:
            operation = { random in
                var commands: [RedisCommand] = []
                commands.reserveCapacity(batch)
                for _ in 0..<batch { commands.append(RedisCommand(["SET", keys.next(&random), value])) }
                let replies = try await redis.pipeline(commands)
                for reply in replies { _ = try reply.throwingError() }
                return replies.count
            }
        }
        let result = try await LoadRunner.run(
            clients: load.clients,
            warmup: load.warmup,
            seconds: load.seconds,
            operation: operation
        )
        var report = BenchReport(
            bench: "redis",
            op: op.rawValue,
            clients: load.clients,
            pool: configuration.poolSize,
            result: result
        )
        if op == .pipeline { report.extra = [("pipeline", .int(batch))] }
        report.print()
    }
}

/// Builds `prefix<n>` keys with a random `n` below `keyspace`, straight into bytes.
struct KeyMaker: Sendable {
    let prefix: [UInt8]
    let keyspace: Int

    init(prefix: String, keyspace: Int) {
        self.prefix = Array(prefix.utf8)
        self.keyspace = keyspace
    }

    func next(_ random: inout FastRandom) -> RedisArgument {
        var n = Int(random.next() % UInt64(keyspace))
        var digits: [UInt8] = []
        digits.reserveCapacity(prefix.count + 20)
        digits.append(contentsOf: prefix)
        let start = digits.count
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(n % 10))
            n /= 10
        } while n > 0
        digits[start...].reverse()
        return RedisArgument(bytes: digits)
    }
}
