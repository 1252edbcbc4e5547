import Backoff
import Foundation
import Logging
import Shared

/// Settle: records how each delivery ended in PostgreSQL — many per transaction, through a
/// ``Batcher`` — then tells the queue in one round trip: settled and lost jobs are forgotten,
/// retries rescheduled, completions announced to long-polling clients.
struct Settler: Sendable {
    /// 200 ms doubling to 5 s, eight attempts: about 21 s of waiting in all. No jitter:
    /// settlements that failed together may as well retry together, the batcher groups them.
    static let retry = RetryPolicy(base: .milliseconds(200), cap: .seconds(5), maxAttempts: 8, jitter: .none)

    private let batcher: Batcher<Settlement, SettleResult>
    private let logger: Logger

    /// - Parameter settled: called after a batch that ended jobs, whose webhook deliveries its
    ///   transaction recorded (the worker's ``WebhookSender`` is woken to send them at once).
    /// - Parameter metrics: counts each committed batch (jobs ended and credits charged per team,
    ///   the batch's size).
    init(
        jobs: any JobStore,
        queue: any JobQueue,
        wakeup: ClaimWakeup,
        logger: Logger,
        metrics: SettlementMetrics = SettlementMetrics(),
        settled: @escaping @Sendable () -> Void = {}
    ) {
        self.logger = logger
        batcher = Batcher(maxBatch: 256, maxConcurrentBatches: 2, priority: .high) { batch in
            let (results, tally) = try await jobs.settleTallied(batch)
            // Committed: counted once, whatever Redis does next (a retry of this batch finds its
            // deliveries `lost` and counts nothing again).
            metrics.record(batchOf: batch.count, tally)
            var acknowledged: [Claim] = []
            var completed: [UUID] = []
            var requeued: [Requeue] = []
            for (settlement, result) in zip(batch, results) {
                switch result {
                case .settled:
                    acknowledged.append(settlement.claim)
                    completed.append(settlement.claim.jobID)
                case .lost:
                    acknowledged.append(settlement.claim)
                case .requeued:
                    var delay = Duration.zero
                    if case .retry(let after, _, _) = settlement.outcome { delay = after }
                    requeued.append(Requeue(claim: settlement.claim, delay: delay))
                }
            }
            // Committed: the ended jobs' webhook rows are due, whatever Redis does next.
            if !completed.isEmpty { settled() }
            try await queue.finish(acknowledge: acknowledged, completed: completed, requeue: requeued)
            if let soonest = requeued.map(\.delay).min() { wakeup.retryScheduled(in: soonest) }
            return results
        }
    }

    /// Settles one delivery, trying again for a while if PostgreSQL or Redis is unavailable.
    /// Trying again is safe: a delivery that already settled comes back `lost` and changes nothing.
    @discardableResult
    func settle(_ settlement: Settlement) async -> SettleResult? {
        for attempt in 1...Self.retry.maxAttempts {
            do {
                return try await batcher.submit(settlement)
            } catch {
                logger.warning("settlement failed", metadata: ["job_id": "\(settlement.claim.jobID)", "attempt": "\(attempt)", "error": "\(error)"])
                // After the last attempt too: the job's slot stays held a moment before it is given up.
                try? await Task.sleep(for: Self.retry.delay(afterAttempt: attempt))
            }
        }
        // The lease will expire and the sweeper will deliver the job again.
        logger.error("settlement abandoned; the job will be delivered again", metadata: ["job_id": "\(settlement.claim.jobID)"])
        return nil
    }
}
