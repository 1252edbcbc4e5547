import ArgumentParser
import Foundation

/// `saasctl model-groups list|show|create`.
struct ModelGroupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-groups",
        abstract: "Model groups: the models a team's jobs run on, by priority.",
        subcommands: [List.self, Show.self, Create.self]
    )

    static let modelFields = [
        Field("priority", "priority", .number), Field("model", "model_name"), Field("provider", "provider"),
        Field("in $/M", "input_price_per_million", .number), Field("out $/M", "output_price_per_million", .number),
        Field("context", "context_tokens", .number),
    ]

    struct List: APICommand {
        static let configuration = CommandConfiguration(abstract: "List model groups.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var list: ListOptions

        func run(_ client: APIClient) async throws {
            let lister = Lister(client: client, path: "/api/model-groups", key: "model_groups")
            if output.json { return try await lister.print(list, output: output, fields: []) }
            let (groups, next) = try await lister.read(list)
            let rows = groups.map { group in
                let models = (group[path: "models"]?.arrayValue ?? []).map { model in
                    "\(Cell.text(model[path: "model_name"]))@\(Cell.text(model[path: "provider"]))"
                }
                return [Cell.text(group[path: "group_name"]), Cell.text(group[path: "display_name"]), models.joined(separator: ", ")]
            }
            Terminal.out(Table([Table.Column("group"), Table.Column("display name"), Table.Column("models", maxWidth: 80)], rows: rows).render())
            if let next { Terminal.err("(more: --cursor \(Sanitized.text(next, maxWidth: 200)), or --all)") }
        }
    }

    struct Show: APICommand {
        static let configuration = CommandConfiguration(abstract: "Show one model group with its models.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The group's name.") var name: String

        func run(_ client: APIClient) async throws {
            let group = try await client.call(.GET, "/api/model-groups/\(BaseURL.encode(name))")
            output.show(group, nested: ["models": ModelGroupsCommand.modelFields])
        }
    }

    struct Create: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a model group.",
            discussion: """
                Models come from --models-file (a JSON array of the API's model objects, or {"models": [...]})
                or from repeated --model name:provider:priority (lower priority first; the rest are fallbacks).
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The group's name.") var name: String
        @Option(name: .customLong("model"), help: "name:provider:priority (repeat for more).") var models: [String] = []
        @Option(name: .customLong("models-file"), help: "A JSON file of models.") var modelsFile: String?
        @Option(name: .customLong("display-name")) var displayName: String?
        @Option var description: String?

        func validate() throws {
            guard models.isEmpty != (modelsFile == nil) else {
                throw ValidationError("give the models either with --model or with --models-file")
            }
            for spec in models { _ = try ModelSpec(spec) }
        }

        func run(_ client: APIClient) async throws {
            let list = try modelsFile.map(ModelSpec.load) ?? .array(models.map { try ModelSpec($0).json })
            var body: [String: JSONValue] = ["group_name": .string(name), "models": list]
            if let displayName { body["display_name"] = .string(displayName) }
            if let description { body["description"] = .string(description) }
            output.show(
                try await client.call(.POST, "/api/model-groups/create", json: .object(body)),
                nested: ["models": ModelGroupsCommand.modelFields]
            )
        }
    }
}

/// `--model name:provider:priority`. Read from the right, so a model name may hold colons
/// (`llama3:8b:local:0`).
struct ModelSpec: Equatable {
    static let maxFileBytes = 1 << 20

    var name: String
    var provider: String
    var priority: Int

    init(_ spec: String) throws {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, let priority = Int(parts[parts.count - 1]), priority >= 0 else {
            throw ValidationError("--model '\(Sanitized.text(spec, maxWidth: 80))' is not name:provider:priority (priority a whole number ≥ 0)")
        }
        let name = parts[..<(parts.count - 2)].joined(separator: ":")
        let provider = String(parts[parts.count - 2])
        guard !name.isEmpty, !provider.isEmpty else {
            throw ValidationError("--model '\(Sanitized.text(spec, maxWidth: 80))' needs a model name and a provider")
        }
        self.name = name
        self.provider = provider
        self.priority = priority
    }

    var json: JSONValue {
        .object(["model_name": .string(name), "provider": .string(provider), "priority": .integer(priority)])
    }

    /// The models of a JSON file: an array, or an object with a `models` array.
    static func load(_ path: String) throws -> JSONValue {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("cannot read --models-file \(path)") }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maxFileBytes + 1)) ?? Data()
        guard data.count <= maxFileBytes else { throw ValidationError("--models-file \(path) is larger than 1 MiB") }
        guard let value = JSONValue.parse(data) else { throw ValidationError("--models-file \(path) is not JSON") }
        let models = value.arrayValue ?? value[path: "models"]?.arrayValue
        guard let models, !models.isEmpty, models.allSatisfy({ $0.objectValue != nil }) else {
            throw ValidationError("--models-file \(path) must hold a non-empty array of model objects (or {\"models\": [...]})")
        }
        return .array(models)
    }
}
