import ArgumentParser
import Foundation
import Logging
import ProcessLimits
import ServiceLifecycle
import Shared
import UnixSignals

/// `saas-worker`: claims jobs from the Redis queue, calls the LLM upstream and settles credits in
/// PostgreSQL. Run as many as the load needs, anywhere that reaches the same Redis and PostgreSQL.
///
/// It loads the configuration, builds the ``WorkerDependencies``, migrates, and runs the
/// ``WorkerServices`` in a service group until SIGTERM, SIGINT or an admin's drain.
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
        LoggingSystem.bootstrapOnce(level: configuration.logLevel, format: configuration.logFormat)
        var logger = Logger(label: "saas-worker")
        logger.logLevel = configuration.logLevel
        let connections = WorkerDependencies.upstreamConnections(configuration)
        let files = connections + configuration.workerConcurrency + 256
        if let limit = FileDescriptorLimit.raise(to: files), limit < files {
            logger.warning("file limit below what the concurrency needs", metadata: ["limit": "\(limit)", "wanted": "\(files)"])
        }

        let dependencies = try WorkerDependencies(configuration: configuration, logger: logger)
        do {
            try await Migrator(client: dependencies.postgres, logger: logger).migrate()
            if let problem = try await dependencies.queue.durabilityProblem() {
                throw ValidationError(problem)
            }
        } catch {
            // Nothing runs yet: close the clients, so the process ends with this error.
            await dependencies.clients.close()
            throw error
        }
        let services = WorkerServices(dependencies, logger: logger)
        var group = services.groupConfiguration(logger: logger)
        group.gracefulShutdownSignals = [.sigterm, .sigint]
        try await ServiceGroup(configuration: group).run()
        // The queue's store counts its own round trips (SYSTEM.md's bar: ≤ 3 per single-call
        // job); scripts/bench-jobs.sh reads both figures from this line.
        logger.info(
            "worker stopped",
            metadata: [
                "worker_id": "\(dependencies.workerID)", "jobs_run": "\(services.inFlight.started)",
                "redis_round_trips": "\(dependencies.queue.roundTrips.map(String.init) ?? "-")",
            ]
        )
    }
}
