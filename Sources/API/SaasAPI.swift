import ArgumentParser
import Hummingbird
import Logging
import Postgres
import ProcessLimits
import Shared

/// `saas-api`: the HTTP service. `serve` (the default) migrates the database, then serves;
/// `migrate` only migrates.
@main
struct SaasAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saas-api",
        abstract: "The multi-tenant LLM job service's HTTP API.",
        subcommands: [Serve.self, Migrate.self, PrintOpenAPI.self],
        defaultSubcommand: Serve.self
    )
}

struct CommonOptions: ParsableArguments {
    @Option(help: "A .env file read for variables the environment does not set.")
    var envFile: String = ".env"
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Migrate the database, then serve HTTP.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to bind (overrides HOST).")
    var host: String?

    @Option(help: "Port to listen on (overrides PORT).")
    var port: Int?

    func run() async throws {
        var overrides: [String: String] = [:]
        if let host { overrides["HOST"] = host }
        if let port { overrides["PORT"] = String(port) }
        let configuration = try await loadConfiguration(envFile: common.envFile, overrides: overrides)
        let logger = makeLogger("saas-api", configuration)
        FileDescriptorLimit.raise()  // a socket per client connection, and the pools' own
        let dependencies = try AppDependencies(configuration: configuration, logger: logger)
        try await Migrator(client: dependencies.postgres, logger: logger).migrate()
        if let problem = try await dependencies.queue.durabilityProblem() {
            throw ValidationError(problem)
        }
        try await buildApplication(dependencies, logger: logger).runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the database migrations that are missing, then exit.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try await loadConfiguration(envFile: common.envFile, overrides: [:])
        let logger = makeLogger("saas-api", configuration)
        let postgres = PostgresClient(configuration: configuration.postgres, logger: logger)
        defer { postgres.shutdown() }
        let applied = try await Migrator(client: postgres, logger: logger).migrate()
        print(applied.isEmpty ? "database is up to date" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
    }
}

/// Loads the configuration; a bad value ends the process with a message naming the variable.
func loadConfiguration(envFile: String, overrides: [String: String]) async throws -> AppConfiguration {
    do {
        return try await AppConfiguration.load(environmentFile: envFile, overrides: overrides)
    } catch let error as ConfigurationError {
        throw ValidationError("configuration: \(error.description)")
    }
}

func makeLogger(_ label: String, _ configuration: AppConfiguration) -> Logger {
    LoggingSystem.bootstrapOnce(level: configuration.logLevel, format: configuration.logFormat)
    var logger = Logger(label: label)
    logger.logLevel = configuration.logLevel
    return logger
}
