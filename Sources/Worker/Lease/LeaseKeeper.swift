import Foundation
import Logging
import Shared

/// Renews the leases of running jobs in PostgreSQL and Redis (one statement and one script for
/// all of them), and stops the jobs this worker should no longer run: cancelled by their owner,
/// or delivered elsewhere after a lost lease. Cancels also arrive at once from the queue.
struct LeaseKeeper: Sendable {
    let jobs: any JobStore
    let queue: any JobQueue
    let inFlight: InFlight
    let lease: Duration
    let logger: Logger

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

    /// Cancels of running jobs, and cool-downs other workers learned of, until cancelled.
    func listen(cooldowns: AsyncStream<String>, health: ProviderHealth) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await listenForCancels() }
            group.addTask {
                for await announcement in cooldowns { health.applyAnnouncement(announcement) }
            }
        }
    }

    /// Stops each job the queue says its owner cancelled — or remembers the cancel a moment, for
    /// a job claimed but not started yet (``InFlight/cancel(_:)``).
    func listenForCancels() async {
        for await jobID in queue.cancellations() { inFlight.cancel(jobID) }
    }
}
