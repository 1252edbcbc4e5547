import Foundation
import Logging
import ServiceLifecycle
import Shared

/// What the heartbeat asks of the worker registry (``WorkerRegistry``, in Redis): a seam the
/// shutdown tests fake.
protocol WorkerPresence: Sendable {
    /// Records a heartbeat; answers whether an admin asked this worker to drain, and the latest
    /// concurrency one asked of it.
    func heartbeat(_ info: WorkerInfo) async throws -> HeartbeatAnswer
    /// Removes a worker that is exiting.
    func leave(_ workerID: String) async throws
    /// Admins' concurrency changes, for every worker, as they are made (hints: the heartbeat
    /// reads the latest back).
    func concurrencyAnnouncements() -> AsyncStream<ConcurrencyAnnouncement>
}

extension WorkerRegistry: WorkerPresence {}

/// Announces this worker (host, concurrency, load) so admins can see it and decide to scale, and
/// learns from the answer whether an admin asked it to drain (``Drain``) or to change its
/// concurrency (``ConcurrencyControl``; the announcement usually came first, this is the
/// backstop for a lost one).
///
/// As a service it beats until graceful shutdown — which reaches it after the ``JobPipeline``
/// has handed back its jobs, so admins watch a stopping worker's load fall — then leaves the
/// registry.
struct Heartbeat: Service {
    let registry: any WorkerPresence
    let workerID: String
    let inFlight: InFlight
    let drain: Drain
    let concurrency: ConcurrencyControl
    let interval: Duration
    let logger: Logger
    private let startedAt = Date()

    init(
        registry: any WorkerPresence,
        workerID: String,
        inFlight: InFlight,
        drain: Drain,
        concurrency: ConcurrencyControl,
        interval: Duration,
        logger: Logger
    ) {
        self.registry = registry
        self.workerID = workerID
        self.inFlight = inFlight
        self.drain = drain
        self.concurrency = concurrency
        self.interval = interval
        self.logger = logger
    }

    func run() async {
        await cancelWhenGracefulShutdown { await beat() }
        try? await registry.leave(workerID)
    }

    /// Beats every `interval` until cancelled.
    func beat() async {
        let host = ProcessInfo.processInfo.hostName
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        while !Task.isCancelled {
            let info = WorkerInfo(
                workerID: workerID,
                host: host,
                pid: pid,
                concurrency: inFlight.capacity,
                inFlight: inFlight.count,
                startedAt: startedAt,
                lastSeen: Date(),
                draining: drain.isRequested
            )
            do {
                let answer = try await registry.heartbeat(info)
                if answer.drain, drain.request() {
                    logger.info("drain requested: finishing in-flight jobs, then exiting")
                }
                if let request = answer.concurrency { concurrency.apply(request) }
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
