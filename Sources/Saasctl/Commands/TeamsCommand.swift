import ArgumentParser

/// `saasctl teams list|show|create|suspend|resume|rotate-key|model-groups`.
struct TeamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teams",
        abstract: "Teams: create (the key is printed once), suspend, resume, rotate keys, model groups.",
        subcommands: [List.self, Show.self, Create.self, Suspend.self, Resume.self, RotateKey.self, ModelGroups.self]
    )

    static let fields = [
        Field("team", "team_id"), Field("organization", "organization_id"), Field("status", "status"),
        Field("remaining", "credits_remaining", .number), Field("reserved", "credits_reserved", .number),
        Field("used", "credits_used", .number), Field("budget", "budget_mode"), Field("model groups", "model_groups"),
        Field("key prefix", "key_prefix", maxWidth: 16),
    ]

    /// The path of one team.
    static func path(_ id: String, _ tail: String = "") -> String { "/api/teams/\(BaseURL.encode(id))\(tail)" }

    /// Prints an answer that carries a freshly minted `virtual_key`: the key once, on its own
    /// line after the team, clearly marked; with `--json` the whole answer (scripts store it).
    static func showMinted(_ answer: JSONValue, output: OutputOptions, what: String) {
        guard !output.json, case .object(var fields) = answer, case .string(let key)? = fields.removeValue(forKey: "virtual_key") else {
            output.show(answer)
            return
        }
        Terminal.out(Render.details(.object(fields)))
        Terminal.out("")
        Terminal.out("\(what) — shown this once, store it now:")
        Terminal.out(key)
    }

    struct List: APICommand {
        static let configuration = CommandConfiguration(abstract: "List teams.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var list: ListOptions
        @Option(help: "Only the teams of this organization.") var org: String?

        func run(_ client: APIClient) async throws {
            let path = org.map { "/api/organizations/\(BaseURL.encode($0))/teams" } ?? "/api/teams"
            try await Lister(client: client, path: path, key: "teams").print(list, output: output, fields: TeamsCommand.fields)
        }
    }

    struct Show: APICommand {
        static let configuration = CommandConfiguration(abstract: "Show one team: status, credits, limits, key prefix.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The team's id.") var id: String

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.GET, TeamsCommand.path(id)))
        }
    }

    struct Create: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a team; prints its virtual key, the only time it is shown."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The new team's id.") var id: String
        @Option(help: "Its organization.") var org: String
        @Option(name: .customLong("model-group"), help: "A model group it may use (repeat for more).") var modelGroups: [String] = []
        @Option(help: "Credits allocated at creation.") var credits: Int = 0
        @Option(help: "A display name.") var alias: String?
        @Option(name: .customLong("budget-mode"), help: "job_based, consumption_tokens or consumption_usd.") var budgetMode: String?
        @Option(name: .customLong("tokens-per-credit")) var tokensPerCredit: Int?
        @Option(name: .customLong("credits-per-dollar")) var creditsPerDollar: Double?
        @Option(help: "Metadata, a JSON object.") var metadata: String?

        func validate() throws {
            guard credits >= 0 else { throw ValidationError("--credits must be 0 or more") }
            if let metadata { _ = try parseObjectOption(metadata, name: "--metadata") }
        }

        func run(_ client: APIClient) async throws {
            var body: [String: JSONValue] = [
                "organization_id": .string(org), "team_id": .string(id), "model_groups": .array(modelGroups.map { .string($0) }),
                "credits_allocated": .integer(credits),
            ]
            if let alias { body["team_alias"] = .string(alias) }
            if let budgetMode { body["budget_mode"] = .string(budgetMode) }
            if let tokensPerCredit { body["tokens_per_credit"] = .integer(tokensPerCredit) }
            if let creditsPerDollar { body["credits_per_dollar"] = .number(creditsPerDollar) }
            if let metadata { body["metadata"] = try parseObjectOption(metadata, name: "--metadata") }
            let answer = try await client.call(.POST, "/api/teams/create", json: .object(body))
            TeamsCommand.showMinted(answer, output: output, what: "Virtual key of team '\(Sanitized.text(id, maxWidth: 60))'")
        }
    }

    struct Suspend: APICommand {
        static let configuration = CommandConfiguration(abstract: "Suspend a team: its jobs wait, nothing runs or is charged.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The team's id.") var id: String

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.PUT, TeamsCommand.path(id, "/suspend")))
        }
    }

    struct Resume: APICommand {
        static let configuration = CommandConfiguration(abstract: "Resume a suspended team.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The team's id.") var id: String

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.PUT, TeamsCommand.path(id, "/resume")))
        }
    }

    struct RotateKey: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Mint a new virtual key (printed once); the old one works for --grace-seconds."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The team's id.") var id: String
        @Option(name: .customLong("grace-seconds"), help: "How long the old key still works (0–86400).") var graceSeconds: Int = 0

        func validate() throws {
            guard (0...86_400).contains(graceSeconds) else { throw ValidationError("--grace-seconds must be between 0 and 86400") }
        }

        func run(_ client: APIClient) async throws {
            let answer = try await client.call(.POST, TeamsCommand.path(id, "/rotate-key"), json: .object(["grace_seconds": .integer(graceSeconds)]))
            TeamsCommand.showMinted(answer, output: output, what: "New virtual key of team '\(Sanitized.text(id, maxWidth: 60))'")
        }
    }

    struct ModelGroups: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "model-groups",
            abstract: "Set the model groups a team may use (replaces the list)."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The team's id.") var id: String
        @Option(name: .customLong("group"), help: "A model group (repeat for more).") var groups: [String] = []

        func run(_ client: APIClient) async throws {
            let body = JSONValue.object(["model_groups": .array(groups.map { .string($0) })])
            output.show(try await client.call(.PUT, TeamsCommand.path(id, "/model-groups"), json: body))
        }
    }
}
