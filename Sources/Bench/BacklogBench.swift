import ArgumentParser
import Foundation
import Postgres
import Redis
import Shared

/// `saas-bench backlog`: what a queue holding a large backlog costs (issue 13, item 4), measured
/// through the service's own code — ``RedisJobQueue``'s scripts and the worker's ``Sweeper`` — for
/// `scripts/bench-backlog.sh`. One mode a run, one JSON line on stdout:
///
/// - `sweep`: `--passes` passes of `Sweeper.sweepOnce()` as the worker builds it (queue gauges on),
///   each timed; the first on an empty Redis is the full re-enqueue, which is also how the script
///   puts the backlog into Redis (every queued job, through `RedisJobQueue.enqueue`, 5,000 a
///   script). Then the gauges' read alone, old way (`JobStore.queueStats()`, an aggregate over the
///   live jobs) and new way (`Sweeper.queueStats()`: Redis census + one index probe per team).
/// - `claim`: claims through `RedisJobQueue.claim(max: --batch)` for `--seconds`, each batch
///   handed back at once with `finish(requeue:)` (delay 0), so the backlog keeps its size and
///   PostgreSQL is not touched: the queue's claim rate alone, and each claim's latency.
/// - `mark`: as `claim`, with each batch marked `in_progress` in PostgreSQL by the worker's own
///   ``PostgresJobStore/markInProgress(_:workerID:lease:)`` before it is handed back: the claim
///   rate as a worker sees it, and the mark's latency (a mark takes over a job already
///   `in_progress`, so the same jobs can be marked again).
/// - `fairness`: enqueues one job of a team with no other job (`--team`), then claims as `claim`
///   does until that job comes out: the milliseconds, claims and jobs before it. Round-robin over
///   teams should make this depend on the number of teams, not on the jobs queued. The job is not
///   in PostgreSQL; it is removed from the queue at the end.
/// - `enqueue`: `--jobs` jobs over `--teams` teams into a queue of its own (`--queue`), Redis only,
///   so `claim` can compare two backlogs in one Redis, alternating (ABBA) on a shared machine.
/// - `memory`: the bytes Redis gives the queue's keys (`MEMORY USAGE … SAMPLES 0` of every `{q}:*`
///   key of the db), their count, and the server's `used_memory`.
struct BacklogBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backlog",
        abstract: "Measure the queue at a backlog: sweep, claim rate, fairness, memory."
    )

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case sweep, claim, mark, fairness, memory, enqueue
    }

    @Option(help: "sweep | claim | mark | fairness | memory | enqueue")
    var mode: Mode

    @Option(help: "Redis URL of the queue (the service's queue, named q).")
    var redisURL: String

    @Option(help: "PostgreSQL URL (sweep, mark).")
    var databaseURL: String?

    @Option(help: "Sweeps to time (sweep).")
    var passes: Int = 3

    @Option(help: "Seconds to claim (claim).")
    var seconds: Double = 10

    @Option(help: "Jobs per claim (claim, fairness), like a worker's free slots.")
    var batch: Int = 100

    @Option(help: "The fresh team (fairness).")
    var team: String = "backlog-fresh"

    @Option(help: "The queue's name (its keys' hash tag): the service's is q.")
    var queue: String = "q"

    @Option(help: "Jobs to enqueue (enqueue), spread evenly over --teams teams named bl-000001….")
    var jobs: Int = 10_000

    @Option(help: "Teams the jobs are spread over (enqueue).")
    var teams: Int = 10_000

    func validate() throws {
        guard passes >= 1, batch >= 1, seconds > 0 else { throw ValidationError("--passes, --batch and --seconds must be positive") }
        if mode == .sweep || mode == .mark, databaseURL == nil { throw ValidationError("--mode \(mode.rawValue) needs --database-url") }
    }

    func run() async throws {
        let redis = RedisClient(configuration: try RedisConfiguration(url: redisURL), logger: stderrLogger("redis"))
        defer { redis.shutdown() }
        let queue = RedisJobQueue(redis: redis, name: queue)
        switch mode {
        case .sweep: try await sweep(queue)
        case .claim: try await claim(queue)
        case .mark: try await mark(queue)
        case .fairness: try await fairness(queue)
        case .memory: try await memory(redis, queue)
        case .enqueue: try await enqueue(queue)
        }
    }

    private func postgres() -> PostgresClient {
        PostgresClient(
            configuration: PostgresConfiguration(url: databaseURL!, poolSize: 4, applicationName: "saas-bench"),
            logger: stderrLogger("postgres")
        )
    }

    private func sweep(_ queue: RedisJobQueue) async throws {
        let postgres = postgres()
        defer { postgres.shutdown() }
        let jobs = PostgresJobStore(postgres: postgres)
        let sweeper = Sweeper(
            jobs: jobs,
            queue: queue,
            workers: nil,
            documents: PostgresDocumentStore(postgres: postgres),
            contents: jobs,
            webhookLog: PostgresWebhookStore(postgres: postgres),
            interval: .seconds(5),
            queueGauges: QueueGauges(),
            logger: stderrLogger("sweeper")
        )
        var figures: [(String, ReportValue)] = []
        for pass in 1...passes {
            let start = ContinuousClock.now
            let report = try await sweeper.sweepOnce()
            let elapsed = Self.ms(ContinuousClock.now - start)
            figures.append(("pass\(pass)_ms", .number(elapsed, places: 1)))
            figures.append(("pass\(pass)_full", .int(report?.fullReenqueue == true ? 1 : 0)))
            figures.append(("pass\(pass)_queued_read", .int(report?.queuedRead ?? 0)))
            figures.append(("pass\(pass)_requeued", .int(report?.requeued ?? 0)))
        }
        var start = ContinuousClock.now
        let old = try await jobs.queueStats()
        figures.append(("gauges_postgres_aggregate_ms", .number(Self.ms(ContinuousClock.now - start), places: 1)))
        start = ContinuousClock.now
        let counts = try await queue.teamCounts()
        figures.append(("gauges_redis_census_ms", .number(Self.ms(ContinuousClock.now - start), places: 1)))
        start = ContinuousClock.now
        let waiting = counts.filter { $0.ready + $0.scheduled > 0 }.map(\.teamID)
        _ = try await jobs.oldestQueued(teams: waiting)
        figures.append(("gauges_oldest_probe_ms", .number(Self.ms(ContinuousClock.now - start), places: 1)))
        start = ContinuousClock.now
        let new = try await sweeper.queueStats()
        figures.append(("gauges_new_ms", .number(Self.ms(ContinuousClock.now - start), places: 1)))
        figures.append(("teams_postgres", .int(old.count)))
        figures.append(("teams_redis", .int(new.count)))
        figures.append(("queued_postgres", .int(old.reduce(0) { $0 + $1.queued + $1.scheduled })))
        figures.append(("queued_redis", .int(new.reduce(0) { $0 + $1.queued + $1.scheduled })))
        Self.print("sweep", figures)
    }

    private func claim(_ queue: RedisJobQueue) async throws {
        var latencies = LatencyHistogram()
        var claimed = 0
        var calls = 0
        _ = try await handBack(queue, try await queue.claim(max: batch, lease: .seconds(60)))  // warm-up
        let elapsed = try await backToBack {
            let before = ContinuousClock.now
            let result = try await queue.claim(max: batch, lease: .seconds(60))
            latencies.record(ContinuousClock.now - before)
            calls += 1
            claimed += try await handBack(queue, result)
        }
        Self.print(
            "claim",
            [
                ("batch", .int(batch)), ("claimed", .int(claimed)), ("claim_calls", .int(calls)),
                ("seconds", .number(elapsed, places: 3)), ("claims_per_sec", .number(Double(claimed) / elapsed, places: 1)),
                ("claim_p50_ms", .number(latencies.percentileMilliseconds(0.5) ?? 0, places: 3)),
                ("claim_p99_ms", .number(latencies.percentileMilliseconds(0.99) ?? 0, places: 3)),
            ]
        )
    }

    private func mark(_ queue: RedisJobQueue) async throws {
        let postgres = postgres()
        defer { postgres.shutdown() }
        let jobs = PostgresJobStore(postgres: postgres)
        var claimLatencies = LatencyHistogram()
        var markLatencies = LatencyHistogram()
        var marked = 0
        var calls = 0
        func once(record: Bool) async throws {
            let before = ContinuousClock.now
            let result = try await queue.claim(max: batch, lease: .seconds(60))
            let claimed = ContinuousClock.now
            let (taken, _) = try await jobs.markInProgress(result.claims, workerID: "saas-bench-backlog", lease: .seconds(60))
            if record {
                claimLatencies.record(claimed - before)
                markLatencies.record(ContinuousClock.now - claimed)
                calls += 1
                marked += taken.count
            }
            _ = try await handBack(queue, result)
        }
        try await once(record: false)  // warm-up: connections, prepared statements
        let elapsed = try await backToBack { try await once(record: true) }
        Self.print(
            "mark",
            [
                ("batch", .int(batch)), ("marked", .int(marked)), ("claim_calls", .int(calls)),
                ("seconds", .number(elapsed, places: 3)), ("marked_per_sec", .number(Double(marked) / elapsed, places: 1)),
                ("claim_p50_ms", .number(claimLatencies.percentileMilliseconds(0.5) ?? 0, places: 3)),
                ("mark_p50_ms", .number(markLatencies.percentileMilliseconds(0.5) ?? 0, places: 3)),
                ("mark_p99_ms", .number(markLatencies.percentileMilliseconds(0.99) ?? 0, places: 3)),
            ]
        )
    }

    /// Runs `body` again and again for `--seconds`; the seconds that took.
    private func backToBack(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline { try await body() }
        return Self.ms(ContinuousClock.now - start) / 1000
    }

    private func fairness(_ queue: RedisJobQueue) async throws {
        let job = QueuedJob(jobID: UUID(), teamID: team, priority: 0)
        let start = ContinuousClock.now
        try await queue.enqueue([job])
        var before = 0
        var calls = 0
        var found = false
        while !found, ContinuousClock.now - start < .seconds(120) {
            let result = try await queue.claim(max: batch, lease: .seconds(60))
            calls += 1
            if let index = result.claims.firstIndex(where: { $0.jobID == job.jobID }) {
                before += index
                found = true
            } else {
                before += result.claims.count
            }
            _ = try await handBack(queue, result)
        }
        let elapsed = Self.ms(ContinuousClock.now - start)
        try await queue.remove([job.jobID], completed: [])
        Self.print(
            "fairness",
            [
                ("batch", .int(batch)), ("claimed", .int(found ? 1 : 0)), ("ms", .number(elapsed, places: 1)),
                ("claim_calls", .int(calls)), ("jobs_before", .int(before)),
            ]
        )
    }

    private func memory(_ redis: RedisClient, _ queue: RedisJobQueue) async throws {
        var cursor = "0"
        var keys = 0
        var bytes = 0
        repeat {
            let reply = try await redis.send("SCAN", RedisArgument(cursor), "MATCH", RedisArgument(queue.keys.tag + ":*"), "COUNT", "1000")
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let names = parts[1].array else {
                throw BenchError.unexpected("SCAN: \(reply)")
            }
            cursor = next
            let commands = names.compactMap(\.string).map { RedisCommand(["MEMORY", "USAGE", RedisArgument($0), "SAMPLES", "0"]) }
            if !commands.isEmpty {
                for value in try await redis.pipeline(commands) { bytes += value.int ?? 0 }
                keys += commands.count
            }
        } while cursor != "0"
        let info = try await redis.send("INFO", "memory").string ?? ""
        let used =
            info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
            .flatMap { Int($0.dropFirst("used_memory:".count)) } ?? 0
        let held = try await redis.send("HLEN", RedisArgument(queue.keys.jobs)).int ?? 0
        Self.print("memory", [("keys", .int(keys)), ("key_bytes", .int(bytes)), ("jobs_held", .int(held)), ("used_memory", .int(used))])
    }

    /// Jobs only Redis holds, through `RedisJobQueue.enqueue` 1,000 a script: a queue of its own
    /// (`--queue`) for comparing claims at two backlogs side by side in one Redis, ABBA, where
    /// PostgreSQL is never read.
    private func enqueue(_ queue: RedisJobQueue) async throws {
        let start = ContinuousClock.now
        var done = 0
        while done < jobs {
            let batch = (done..<min(jobs, done + 1000)).map {
                QueuedJob(jobID: UUID(), teamID: Self.teamName($0 % teams + 1), priority: $0 % 10)
            }
            try await queue.enqueue(batch)
            done += batch.count
        }
        Self.print("enqueue", [("jobs", .int(done)), ("ms", .number(Self.ms(ContinuousClock.now - start), places: 1))])
    }

    /// `bl-000042`, as bench/sql/backlog-seed.sql names its teams.
    private static func teamName(_ number: Int) -> String {
        let digits = String(number)
        return "bl-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Gives a claim's jobs back at once (requeue, delay 0): the backlog keeps its size.
    private func handBack(_ queue: RedisJobQueue, _ result: ClaimResult) async throws -> Int {
        try await queue.finish(acknowledge: [], completed: [], requeue: result.claims.map { Requeue(claim: $0, delay: .zero) })
        return result.claims.count
    }

    private static func ms(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    private static func print(_ op: String, _ figures: [(String, ReportValue)]) {
        let fields = ["\"bench\":\"backlog\"", "\"op\":\(jsonString(op))"] + figures.map { "\(jsonString($0.0)):\($0.1.json)" }
        Swift.print("{" + fields.joined(separator: ",") + "}")
    }
}
