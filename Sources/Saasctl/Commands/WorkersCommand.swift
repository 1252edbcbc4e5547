import ArgumentParser

/// `saasctl workers list|drain|concurrency`.
struct WorkersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "Live workers: list, drain (optionally waiting until it exits), change concurrency.",
        subcommands: [List.self, Drain.self, Concurrency.self]
    )

    static let fields = [
        Field("worker", "worker_id", maxWidth: 48), Field("host", "host", maxWidth: 24), Field("pid", "pid", .number),
        Field("concurrency", "concurrency", .number), Field("in flight", "in_flight", .number), Field("draining", "draining"),
        Field("started", "started_at", .time), Field("last seen", "last_seen", .time),
    ]

    static func path(_ id: String, _ tail: String) -> String { "/api/admin/workers/\(BaseURL.encode(id))\(tail)" }

    /// The live workers, as the API lists them.
    static func live(_ client: APIClient) async throws(CommandFailure) -> [JSONValue] {
        let answer = try await client.call(.GET, "/api/admin/workers")
        guard let workers = answer[path: "workers"]?.arrayValue else { throw .unavailable("the API's answer has no `workers` list") }
        return workers
    }

    struct List: APICommand {
        static let configuration = CommandConfiguration(abstract: "List live workers (from their heartbeats).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run(_ client: APIClient) async throws {
            let answer = try await client.call(.GET, "/api/admin/workers")
            if output.json { return Terminal.out(answer.pretty) }
            Terminal.out(Render.list(answer[path: "workers"]?.arrayValue ?? [], WorkersCommand.fields))
        }
    }

    struct Drain: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Drain a worker: it stops claiming, finishes what it holds and exits.",
            discussion: """
                With --wait, polls the worker list until the worker is gone, showing its jobs in flight \
                going down (a progress bar on a terminal, a line per change otherwise); exits 3 if it is \
                still there after --timeout seconds.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The worker's id.") var id: String
        @Flag(help: "Wait until the worker has exited.") var wait = false
        @Option(help: "With --wait: the most seconds to wait (1–86400).") var timeout: Int = 600
        @Option(help: "With --wait: seconds between polls (1–60).") var interval: Int = 1

        func validate() throws {
            guard (1...86_400).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 86400 seconds") }
            guard (1...60).contains(interval) else { throw ValidationError("--interval must be between 1 and 60 seconds") }
        }

        func run(_ client: APIClient) async throws {
            let answer = try await client.call(.POST, WorkersCommand.path(id, "/drain"))
            guard wait else { return output.show(answer) }
            if !output.json { Terminal.err("draining \(Sanitized.text(id, maxWidth: 80)); waiting for it to exit") }
            let exited = try await DrainWatch(client: client, workerID: id, timeout: .seconds(timeout), interval: .seconds(interval)).run()
            if output.json {
                Terminal.out(JSONValue.object(["worker_id": .string(id), "exited": true, "waited_seconds": .number(exited.seconds)]).pretty)
            } else {
                Terminal.out("worker \(Sanitized.text(id, maxWidth: 80)) has exited (\(Int(exited.seconds.rounded())) s)")
            }
        }
    }

    struct Concurrency: APICommand {
        static let configuration = CommandConfiguration(abstract: "Change a worker's concurrency (its slots) without a restart.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The worker's id.") var id: String
        @Argument(help: "Its new number of slots.") var slots: Int

        func validate() throws {
            guard slots >= 1 else { throw ValidationError("the concurrency must be at least 1") }
        }

        func run(_ client: APIClient) async throws {
            let body = JSONValue.object(["concurrency": .integer(slots)])
            output.show(try await client.call(.PUT, WorkersCommand.path(id, "/concurrency"), json: body))
        }
    }
}

/// Polls the worker list until a draining worker is gone, bounded by a timeout.
struct DrainWatch {
    let client: APIClient
    let workerID: String
    let timeout: Duration
    let interval: Duration

    /// How long it took; throws exit code 3 when the worker outlived the timeout.
    func run() async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        var bar = ProgressBar()
        var total = 0
        while true {
            let workers = try await WorkersCommand.live(client)
            guard let worker = workers.first(where: { $0[path: "worker_id"]?.stringValue == workerID }) else {
                bar.finish()
                return clock.now - start
            }
            let inFlight = worker[path: "in_flight"]?.intValue ?? 0
            total = max(total, inFlight)
            let name = Sanitized.text(workerID, maxWidth: 60)
            bar.update(
                done: total - inFlight,
                total: total,
                note: "\(inFlight) in flight",
                plain: "worker \(name) draining: \(inFlight) in flight"
            )
            let elapsed = clock.now - start
            guard elapsed < timeout else {
                bar.finish()
                throw CommandFailure.unavailable("worker \(name) was still running after \(timeout.components.seconds) s (\(inFlight) in flight)")
            }
            try await Task.sleep(for: min(interval, timeout - elapsed))
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
