import ArgumentParser
import Foundation

/// `saasctl providers list|create|delete`.
struct ProvidersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract: "LLM providers (their keys are stored encrypted and never shown).",
        subcommands: [List.self, Create.self, Delete.self]
    )

    static let fields = [
        Field("name", "name"), Field("kind", "kind"), Field("base url", "base_url", maxWidth: 50),
        Field("circuit", "health.circuit_state"), Field("last error", "health.last_error", maxWidth: 50),
    ]

    struct List: APICommand {
        static let configuration = CommandConfiguration(abstract: "List providers with their health.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var list: ListOptions

        func run(_ client: APIClient) async throws {
            try await Lister(client: client, path: "/api/providers", key: "providers").print(list, output: output, fields: ProvidersCommand.fields)
        }
    }

    struct Create: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a provider.",
            discussion: """
                The provider's API key is never an argument (it would show in `ps` and shell history): \
                name an environment variable holding it (--api-key-env), a file (--api-key-file), or \
                pipe it in (--api-key-stdin).
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The provider's name.") var name: String
        @Option(help: "openai (any OpenAI-compatible endpoint) or anthropic.") var kind: String
        @Option(name: .customLong("base-url")) var baseURL: String
        @Option(name: .customLong("api-key-env"), help: "The environment variable holding its API key.") var apiKeyEnv: String?
        @Option(name: .customLong("api-key-file"), help: "A file holding its API key.") var apiKeyFile: String?
        @Flag(name: .customLong("api-key-stdin"), help: "Read its API key from stdin.") var apiKeyStdin = false
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Tokens per minute.") var tpm: Int?
        @Option(name: .customLong("timeout-seconds")) var timeoutSeconds: Int?

        func validate() throws {
            let sources = [apiKeyEnv != nil, apiKeyFile != nil, apiKeyStdin].filter { $0 }.count
            guard sources == 1 else { throw ValidationError("give the provider's key with one of --api-key-env, --api-key-file, --api-key-stdin") }
        }

        func readKey() throws -> String {
            let raw: String?
            if let apiKeyEnv {
                raw = ProcessInfo.processInfo.environment[apiKeyEnv]
            } else if let apiKeyFile {
                raw = FileHandle(forReadingAtPath: apiKeyFile).flatMap { handle in
                    defer { try? handle.close() }
                    return (try? handle.read(upToCount: 16 * 1024)).map { String(decoding: $0, as: UTF8.self) }
                }
            } else {
                raw = (try? FileHandle.standardInput.read(upToCount: 16 * 1024)).map { String(decoding: $0, as: UTF8.self) }
            }
            guard let key = raw?.split(whereSeparator: \.isNewline).first.map({ $0.trimmingWhitespace() }), !key.isEmpty else {
                throw ValidationError("no provider key found where --api-key-env/--api-key-file/--api-key-stdin point")
            }
            return key
        }

        func run(_ client: APIClient) async throws {
            var body: [String: JSONValue] = [
                "name": .string(name), "kind": .string(kind), "base_url": .string(baseURL), "api_key": .string(try readKey()),
            ]
            if let rpm { body["rpm"] = .integer(rpm) }
            if let tpm { body["tpm"] = .integer(tpm) }
            if let timeoutSeconds { body["timeout_seconds"] = .integer(timeoutSeconds) }
            output.show(try await client.call(.POST, "/api/providers/create", json: .object(body)))
        }
    }

    struct Delete: APICommand {
        static let configuration = CommandConfiguration(abstract: "Delete a provider.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The provider's name.") var name: String

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.DELETE, "/api/providers/\(BaseURL.encode(name))"))
        }
    }
}
