import Foundation
import Logging
import ServiceLifecycle
import Shared

/// Renews the leases of running jobs in PostgreSQL and Redis (one statement and one script for
/// all of them), and stops the jobs this worker should no longer run: cancelled by their owner,
/// or delivered elsewhere after a lost lease. (Cancels also arrive at once, announced by the
/// queue: ``AnnouncementRouter``; renewal is their backstop.)
///
/// As a service it renews until graceful shutdown, which reaches it only after the
/// ``JobPipeline`` has ended: leases stay renewed through the shutdown's grace period.
struct LeaseKeeper: Service {
    let jobs: any JobStore
    let queue: any JobQueue
    let inFlight: InFlight
    let lease: Duration
    let logger: Logger

    func run() async {
        await cancelWhenGracefulShutdown { await renewLoop() }
    }

    /// Renews every third of a lease until cancelled.
    func renewLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: lease / 3)
            let claims = inFlight.claims
            guard !claims.isEmpty else { continue }
            do {
                let stop = try await jobs.renewLeases(claims, lease: lease)
                _ = try await queue.renew(claims, lease: lease)
                for jobID in stop {
                    logger.info("stopping a job this worker no longer holds", metadata: ["job_id": "\(jobID)"])
                    inFlight.cancel(jobID)
                }
            } catch {
                logger.warning("lease renewal failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
