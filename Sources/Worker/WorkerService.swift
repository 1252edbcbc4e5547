import Foundation
import Logging
import ServiceLifecycle
import Shared
import Synchronization

/// One worker process: claim → call → settle, for up to `concurrency` jobs at once.
///
/// Beside the pipeline run the lease keeper, the cancel listener, the heartbeat and the sweeper.
/// On SIGTERM (or an admin's drain) it stops claiming, lets running calls finish within the
/// grace period, hands the rest back to the queue — not failed, not counted against the jobs —
/// and exits.
struct WorkerService: Service {
    let workerID: String
    let configuration: AppConfiguration
    let jobs: any JobStore
    let queue: any JobQueue
    let registry: WorkerRegistry
    let runner: JobRunner
    let board: ProviderHealthBoard
    let health: ProviderHealth
    let sweeper: Sweeper
    let logger: Logger

    func run() async throws {
        let lease = Duration.milliseconds(Int64(configuration.leaseSeconds * 1000))
        let inFlight = InFlight(capacity: configuration.workerConcurrency)
        let wakeup = ClaimWakeup()
        let settler = Settler(jobs: jobs, queue: queue, wakeup: wakeup, logger: logger)
        let claimer = Claimer(queue: queue, jobs: jobs, inFlight: inFlight, workerID: workerID, lease: lease, wakeup: wakeup, logger: logger)
        let keeper = LeaseKeeper(jobs: jobs, queue: queue, inFlight: inFlight, lease: lease, logger: logger)
        let started = Date()
        let draining = Mutex(false)
        let host = ProcessInfo.processInfo.hostName
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        let concurrency = configuration.workerConcurrency

        // Claiming runs in a task of its own so that a drain or shutdown can cancel its wait.
        let claiming = Task {
            await claimer.run { job in
                inFlight.start(job.claim) {
                    let settlement = await runner.run(job)
                    await settler.settle(settlement)
                }
            }
        }
        let stopClaiming: @Sendable () -> Void = {
            claiming.cancel()
            inFlight.wakeSlotWaiters()
        }
        let heartbeat = Heartbeat(
            registry: registry,
            info: {
                WorkerInfo(
                    workerID: workerID, host: host, pid: pid, concurrency: concurrency, inFlight: inFlight.count,
                    startedAt: started, lastSeen: Date(), draining: draining.withLock { $0 }
                )
            },
            interval: .milliseconds(Int64(configuration.heartbeatSeconds * 1000)),
            onDrainRequested: {
                let first = draining.withLock { was in defer { was = true }; return !was }
                if first {
                    logger.info("drain requested: finishing in-flight jobs, then exiting")
                    stopClaiming()
                }
            },
            logger: logger
        )
        logger.info("worker started", metadata: ["worker_id": "\(workerID)", "concurrency": "\(concurrency)"])

        await withDiscardingTaskGroup { group in
            group.addTask { await keeper.renewLoop() }
            group.addTask {
                await AnnouncementRouter(routes: [
                    .init("cancellations", queue.cancellations, to: inFlight.cancel),
                    .init("cool-downs", board.cooldownAnnouncements, to: health.applyAnnouncement),
                ]).run()
            }
            group.addTask { await heartbeat.run() }
            group.addTask { try? await sweeper.run() }

            await withGracefulShutdownHandler {
                await claiming.value
            } onGracefulShutdown: {
                logger.info("shutting down: no more claims")
                stopClaiming()
            }
            let grace = Duration.milliseconds(Int64(configuration.shutdownGraceSeconds * 1000))
            if !(await inFlight.waitUntilEmpty(timeout: grace)) {
                logger.info("grace period over: handing back \(inFlight.count) jobs")
                inFlight.cancelAll()
                await inFlight.waitUntilEmpty(timeout: .seconds(30))
            }
            group.cancelAll()
        }
        try? await registry.leave(workerID)
        // The queue's store counts its own round trips (SYSTEM.md's bar: ≤ 3 per single-call job).
        logger.info("worker stopped", metadata: [
            "worker_id": "\(workerID)", "jobs_run": "\(inFlight.started)", "redis_round_trips": "\(queue.roundTrips.map(String.init) ?? "-")",
        ])
    }
}
