import ArgumentParser

/// `saasctl queue` (the queue by team) and `saasctl queue pause|resume` (all claiming, fleet-wide).
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "The queue by team; pause or resume claiming fleet-wide.",
        subcommands: [Show.self, Pause.self, Resume.self],
        defaultSubcommand: Show.self
    )

    static let fields = [
        Field("team", "team_id"), Field("queued", "queued", .number), Field("scheduled", "scheduled", .number),
        Field("in progress", "in_progress", .number), Field("oldest queued s", "oldest_queued_age_seconds", .number),
    ]

    struct Show: APICommand {
        static let configuration = CommandConfiguration(abstract: "Queued, scheduled and running jobs per team, with totals.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run(_ client: APIClient) async throws {
            let queue = try await client.call(.GET, "/api/admin/queue")
            if output.json { return Terminal.out(queue.pretty) }
            var rows = (queue[path: "teams"]?.arrayValue ?? []).map { team in QueueCommand.fields.map { $0.cell(team) } }
            if let totals = queue[path: "totals"] {
                rows.append(["TOTAL"] + QueueCommand.fields.dropFirst().map { $0.cell(totals) })
            }
            Terminal.out(Table(QueueCommand.fields.map(\.column), rows: rows).render())
            if let totals = queue[path: "totals"] {
                let workers = ["live_workers", "worker_capacity", "workers_in_flight"].map { Cell.text(totals[path: $0]) }
                Terminal.out("\nworkers: \(workers[0])  slots: \(workers[1])  in flight: \(workers[2])")
            }
            switch queue[path: "paused"] {
            case .bool(true)?:
                let since = queue[path: "paused_since"]?.stringValue.map { " since \(Field.shortTime($0))" } ?? ""
                Terminal.out("claiming: PAUSED\(Sanitized.text(since, maxWidth: 40)) (saasctl queue resume)")
            case .bool(false)?:
                Terminal.out("claiming: running")
            default:
                break
            }
        }
    }

    struct Pause: APICommand {
        static let configuration = CommandConfiguration(abstract: "Stop all claiming, fleet-wide (jobs stay queued).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.POST, "/api/admin/queue/pause"))
        }
    }

    struct Resume: APICommand {
        static let configuration = CommandConfiguration(abstract: "Restart claiming, fleet-wide.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.POST, "/api/admin/queue/resume"))
        }
    }
}
