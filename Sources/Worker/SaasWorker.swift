import ArgumentParser
import Logging
import ServiceLifecycle
import Shared

/// `saas-worker`: claims jobs from the Redis queue, calls the LLM upstream and settles credits in
/// PostgreSQL. Run as many as the load needs, anywhere that reaches the same Redis and PostgreSQL.
@main
struct SaasWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saas-worker",
        abstract: "The multi-tenant LLM job service's worker."
    )

    @Option(help: "A .env file read for variables the environment does not set.")
    var envFile: String = ".env"

    @Option(help: "Jobs run at once by this process (overrides WORKER_CONCURRENCY).")
    var concurrency: Int?

    func run() async throws {
        var overrides: [String: String] = [:]
        if let concurrency { overrides["WORKER_CONCURRENCY"] = String(concurrency) }
        let configuration: AppConfiguration
        do {
            configuration = try await AppConfiguration.load(environmentFile: envFile, overrides: overrides)
        } catch let error as ConfigurationError {
            throw ValidationError("configuration: \(error.description)")
        }
        LoggingSystem.bootstrapOnce(level: configuration.logLevel)
        var logger = Logger(label: "saas-worker")
        logger.logLevel = configuration.logLevel

        let postgres = PostgresClient(configuration: configuration.postgres, logger: logger)
        let redis = RedisClient(configuration: try configuration.redis(), logger: logger)
        try await Migrator(client: postgres, logger: logger).migrate()

        let worker = WorkerService(configuration: configuration, postgres: postgres, redis: redis, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: ShutdownHook { postgres.shutdown(); redis.shutdown() }),
                    .init(service: worker),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
