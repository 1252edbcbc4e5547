import ArgumentParser

/// `saasctl orgs list|show|create`.
struct OrgsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orgs",
        abstract: "Organizations.",
        subcommands: [List.self, Show.self, Create.self]
    )

    static let fields = [
        Field("organization", "organization_id"), Field("name", "name"), Field("created", "created_at", .time),
    ]

    struct List: APICommand {
        static let configuration = CommandConfiguration(abstract: "List organizations.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var list: ListOptions

        func run(_ client: APIClient) async throws {
            try await Lister(client: client, path: "/api/organizations", key: "organizations").print(list, output: output, fields: OrgsCommand.fields)
        }
    }

    struct Show: APICommand {
        static let configuration = CommandConfiguration(abstract: "Show one organization.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The organization's id.") var id: String

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.GET, "/api/organizations/\(BaseURL.encode(id))"))
        }
    }

    struct Create: APICommand {
        static let configuration = CommandConfiguration(abstract: "Create an organization.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The new organization's id.") var id: String
        @Option(help: "Its name.") var name: String
        @Option(help: "Metadata, a JSON object.") var metadata: String?

        func validate() throws {
            if let metadata { _ = try parseObjectOption(metadata, name: "--metadata") }
        }

        func run(_ client: APIClient) async throws {
            var body: [String: JSONValue] = ["organization_id": .string(id), "name": .string(name)]
            if let metadata { body["metadata"] = try parseObjectOption(metadata, name: "--metadata") }
            output.show(try await client.call(.POST, "/api/organizations/create", json: .object(body)))
        }
    }
}
