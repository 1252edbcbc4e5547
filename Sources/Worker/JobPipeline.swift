import Foundation
import Logging
import ServiceLifecycle
import Shared

/// Claim → call → settle, for up to the worker's concurrency of jobs at once: the worker's
/// pipeline as a service.
///
/// It is the last of the worker's services (``WorkerServices``), so graceful shutdown reaches it
/// first. On SIGTERM — or an admin's drain, after which it ends by itself and its end shuts the
/// group down — it stops claiming, lets running calls finish within the grace period, hands the
/// rest back to the queue (not failed, not counted against the jobs) and returns. Meanwhile the
/// services before it still run: leases are renewed, cancels stop jobs, the heartbeat reports.
struct JobPipeline: Service {
    let workerID: String
    let claimer: Claimer
    let runner: any JobRunning
    let settler: Settler
    let inFlight: InFlight
    let drain: Drain
    /// `WORKER_SHUTDOWN_GRACE_SECONDS`: how long running calls may take to finish once claiming
    /// stopped.
    let grace: Duration
    let logger: Logger

    func run() async {
        logger.info("worker started", metadata: ["worker_id": "\(workerID)", "concurrency": "\(inFlight.capacity)"])
        await cancelWhenGracefulShutdown { [claimer, runner, settler, inFlight, drain] in
            await drain.cancelWhenRequested {
                await claimer.run { job in
                    inFlight.start(job.claim) {
                        let settlement = await runner.run(job)
                        await settler.settle(settlement)
                    }
                }
            }
        }
        if !drain.isRequested { logger.info("shutting down: no more claims") }
        if !(await inFlight.waitUntilEmpty(timeout: grace)) {
            // A cancelled job settles as a retry that counts no attempt: handed back, not failed.
            logger.info("grace period over: handing back \(inFlight.count) jobs")
            inFlight.cancelAll()
            await inFlight.waitUntilEmpty(timeout: .seconds(30))
        }
    }
}
