import ArgumentParser

/// `saasctl jobs list|show|cancel|retry`: any team's jobs, through the admin routes.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Jobs of any team: list, show (with calls), cancel, retry.",
        subcommands: [List.self, Show.self, Cancel.self, Retry.self]
    )

    static let fields = [
        Field("job", "job_id", maxWidth: 36), Field("team", "team_id", maxWidth: 24), Field("type", "job_type", maxWidth: 20),
        Field("status", "status"), Field("model", "model", maxWidth: 24), Field("created", "created_at", .time),
        Field("attempts", "attempts", .number), Field("charged", "credits_charged", .number),
    ]

    static let callFields = [
        Field("model", "model"), Field("provider", "provider"), Field("attempt", "attempt", .number),
        Field("status", "status_code", .number), Field("tokens", "total_tokens", .number), Field("cost $", "cost_usd", .number),
        Field("ms", "latency_ms", .number), Field("error", "error", maxWidth: 50),
    ]

    static let statuses = ["pending", "queued", "in_progress", "cancelling", "completed", "failed", "cancelled", "expired"]

    static func path(_ id: String, _ tail: String = "") -> String { "/api/admin/jobs/\(BaseURL.encode(id))\(tail)" }

    struct List: APICommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var list: ListOptions
        @Option(help: "Only this team's jobs.") var team: String?
        @Option(help: "Only jobs in this status (\(JobsCommand.statuses.joined(separator: ", "))).") var status: String?

        func validate() throws {
            if let status, !JobsCommand.statuses.contains(status) {
                throw ValidationError("--status must be one of \(JobsCommand.statuses.joined(separator: ", "))")
            }
        }

        func run(_ client: APIClient) async throws {
            var query: [(String, String)] = []
            if let team { query.append(("team_id", team)) }
            if let status { query.append(("status", status)) }
            try await Lister(client: client, path: "/api/admin/jobs", key: "jobs", query: query).print(
                list,
                output: output,
                fields: JobsCommand.fields
            )
        }
    }

    struct Show: APICommand {
        static let configuration = CommandConfiguration(abstract: "Show one job with its calls.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The job's id.") var id: String

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.GET, JobsCommand.path(id)), nested: ["calls": JobsCommand.callFields])
        }
    }

    struct Cancel: APICommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The job's id.") var id: String

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.POST, JobsCommand.path(id, "/cancel")))
        }
    }

    struct Retry: APICommand {
        static let configuration = CommandConfiguration(abstract: "Retry a failed job (a new reservation).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The job's id.") var id: String

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.POST, JobsCommand.path(id, "/retry")))
        }
    }
}
