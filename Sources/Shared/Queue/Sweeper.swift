import Foundation
import Logging
import ServiceLifecycle

/// Reconciles the queue with PostgreSQL, the source of truth (SYSTEM.md, guarantee 1): expires
/// overdue jobs, takes back jobs whose worker stopped renewing its lease (ending them as `poison`
/// on the third time), and makes sure Redis holds every queued job — after Redis lost its data,
/// or a submitter died between commit and enqueue. Every API and worker process runs one; an
/// advisory lock lets one at a time do the work, so nothing depends on any one process living.
public struct Sweeper: Service {
    public struct Report: Sendable, Equatable {
        public var expired = 0
        public var leasesRecovered = 0
        public var ended = 0
        public var requeued = 0
    }

    let jobs: any JobStore
    let queue: any JobQueue
    let interval: Duration
    let poisonAfter: Int
    let logger: Logger

    public init(jobs: any JobStore, queue: any JobQueue, interval: Duration, poisonAfter: Int = 3, logger: Logger) {
        self.jobs = jobs
        self.queue = queue
        self.interval = interval
        self.poisonAfter = poisonAfter
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if let report = try await sweepOnce(), report != Report() {
                        logger.info("sweep", metadata: [
                            "expired": "\(report.expired)", "leases_recovered": "\(report.leasesRecovered)",
                            "ended": "\(report.ended)", "requeued": "\(report.requeued)",
                        ])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("sweep failed", metadata: ["error": "\(error)"])
                }
                // Spread the sweepers of several processes apart.
                let jitter = Double.random(in: 0.8...1.2)
                try? await Task.sleep(for: interval * jitter)
            }
        }
    }

    /// One pass; nil when another process holds the sweeper lock.
    public func sweepOnce() async throws -> Report? {
        try await jobs.withSweeperLock {
            var report = Report()
            while true {
                let expired = try await jobs.expireOverdue(limit: 1000)
                try await queue.remove(expired, completed: expired)
                report.expired += expired.count
                if expired.count < 1000 { break }
            }
            while true {
                let recovered = try await jobs.recoverExpiredLeases(limit: 1000, poisonAfter: poisonAfter)
                let ended = recovered.filter(\.ended).map(\.job.jobID)
                try await queue.remove(ended, completed: ended)
                try await queue.reset(recovered.filter { !$0.ended }.map(\.job))
                report.leasesRecovered += recovered.count
                report.ended += ended.count
                if recovered.count < 1000 { break }
            }
            var after: UUID?
            while true {
                let page = try await jobs.queuedJobs(after: after, limit: 5000)
                report.requeued += try await queue.enqueue(page)
                guard page.count == 5000, let last = page.last else { break }
                after = last.jobID
            }
            return report
        }
    }
}
