import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProcessLimits
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
        // Each in-flight call holds a connection: a chat job one, a document job up to
        // DOCUMENT_CONCURRENCY. Connections open only when needed; this is the ceiling.
        let connections = min(8192, configuration.workerConcurrency * max(1, configuration.documentConcurrency))
        let files = connections + configuration.workerConcurrency + 256
        if let limit = FileDescriptorLimit.raise(to: files), limit < files {
            logger.warning("file limit below what the concurrency needs", metadata: ["limit": "\(limit)", "wanted": "\(files)"])
        }

        let postgres = PostgresClient(configuration: configuration.postgres, logger: logger)
        let redis = RedisClient(configuration: try configuration.redis(), logger: logger)
        try await Migrator(client: postgres, logger: logger).migrate()
        let queue: any JobQueue = RedisJobQueue(redis: redis)
        if let problem = try await queue.durabilityProblem() {
            throw ValidationError(problem)
        }

        // One connection per concurrent call: the default of 8 per host would queue the rest.
        var http = HTTPClient.Configuration()
        http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        http.connectionPool.retryConnectionEstablishment = false
        http.timeout = .init(connect: .seconds(10))
        // Never follow a redirect: a cross-origin hop would carry the provider's key, a 303 would
        // turn the POST into a GET. A 3xx is an upstream error (HTTPExchange.classify).
        http.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)

        let jobs = PostgresJobStore(postgres: postgres)
        let routing = Routing(
            modelGroups: PostgresModelGroupStore(postgres: postgres), providers: PostgresProviderStore(postgres: postgres),
            secrets: SecretBox(configuration: configuration, logger: logger)
        )
        let board = ProviderHealthBoard(redis: redis)
        let health = ProviderHealth(
            board: board, audit: PostgresAuditStore(postgres: postgres), failureThreshold: configuration.circuitFailureThreshold,
            openFor: .milliseconds(Int64(configuration.circuitOpenSeconds * 1000)), logger: logger
        )
        let runner = JobRunner(
            upstreams: [.openai: OpenAIUpstream(client: client), .anthropic: AnthropicUpstream(client: client)],
            routing: routing,
            health: health,
            steps: jobs,
            policy: .init(
                maxAttempts: configuration.maxAttempts,
                retryBase: .milliseconds(Int64(configuration.retryBaseSeconds * 1000)),
                retryCap: .milliseconds(Int64(configuration.retryCapSeconds * 1000)),
                defaultMaxTokens: configuration.defaultMaxTokens,
                defaultContextTokens: configuration.defaultContextTokens,
                documentConcurrency: configuration.documentConcurrency,
                documentLimits: configuration.documentLimits
            ),
            logger: logger
        )
        let workerID = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(6).lowercased())"
        let registry = WorkerRegistry(redis: redis, staleAfter: .milliseconds(Int64(configuration.heartbeatSeconds * 3000)))
        let worker = WorkerService(
            workerID: workerID, configuration: configuration, jobs: jobs, queue: queue,
            registry: registry,
            runner: runner,
            board: board,
            health: health,
            sweeper: Sweeper(jobs: jobs, queue: queue, workers: registry, interval: .milliseconds(Int64(configuration.sweepIntervalSeconds * 1000)), logger: logger),
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: ShutdownHook {
                        try? await client.shutdown()
                        postgres.shutdown()
                        redis.shutdown()
                    }),
                    // A worker that drained ends the process.
                    .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
