import Foundation
import Logging
import Shared

/// Renews the leases of running jobs in PostgreSQL and Redis (one statement and one script for
/// all of them), and stops the jobs this worker should no longer run: cancelled by their owner,
/// or delivered elsewhere after a lost lease. Cancels also arrive at once by pub/sub.
struct LeaseKeeper: Sendable {
    let jobs: any JobStore
    let queue: RedisJobQueue
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

    /// Cancels of running jobs, and cool-downs other workers learned of.
    func listen(_ subscription: RedisSubscription, health: ProviderHealth) async {
        for await message in subscription.messages {
            if message.channel == queue.cancelChannel {
                if let jobID = UUID(uuidString: message.payload) { inFlight.cancel(jobID) }
            } else {
                health.applyAnnouncement(message.payload)
            }
        }
    }
}
