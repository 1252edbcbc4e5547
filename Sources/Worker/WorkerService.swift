import Logging
import ServiceLifecycle
import Shared

/// The worker's main loop. Idle, it blocks on Redis until work arrives (no polling); on
/// SIGTERM/SIGINT it stops waiting at once.
struct WorkerService: Service {
    let configuration: AppConfiguration
    let postgres: PostgresClient
    let redis: RedisClient
    let logger: Logger

    func run() async throws {
        let waiter = redis.makeBlockingConnection(name: "worker-wait")
        logger.info("worker started", metadata: ["concurrency": "\(configuration.workerConcurrency)"])
        // Graceful shutdown cancels the wait; the blocking connection then unblocks itself.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    // Blocks until a team has queued work; the job pipeline takes it from here.
                    let team = try await waiter.send("BLMOVE", "{q}:teams", "{q}:teams", "LEFT", "RIGHT", "0")
                    logger.debug("work available", metadata: ["team": "\(team.string ?? "-")"])
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("waiting for work failed", metadata: ["error": "\(error)"])
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
        logger.info("worker stopped")
    }
}
