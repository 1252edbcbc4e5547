import Logging
import Shared
import Synchronization

/// An admin's change of this worker's concurrency (``WorkerRegistry/setConcurrency(_:to:)``),
/// heard at once from its announcement or, when that was lost, read back by the next
/// ``Heartbeat`` — and applied to ``InFlight`` without a restart: growing lets the claimer take
/// more at once, shrinking lets running jobs finish and claims nothing until fewer run than the
/// new concurrency. Each change has a version; an older one arriving late (a heartbeat's answer
/// read before a newer announcement) is ignored. Versions keep growing after Redis lost its data
/// (they follow Redis's clock, see ``ConcurrencyRequest``), so a change made after a flush is
/// newer than every one applied before it.
final class ConcurrencyControl: Sendable {
    private let workerID: String
    private let inFlight: InFlight
    private let logger: Logger
    /// The version of the change applied last (0: none since the worker started).
    private let applied = Mutex(0)

    init(workerID: String, inFlight: InFlight, logger: Logger) {
        self.workerID = workerID
        self.inFlight = inFlight
        self.logger = logger
    }

    /// An announcement: kept when it names this worker.
    func announced(_ announcement: ConcurrencyAnnouncement) {
        guard announcement.workerID == workerID else { return }
        apply(announcement.request)
    }

    /// Applies a change newer than the last one applied.
    func apply(_ request: ConcurrencyRequest) {
        let concurrency = min(max(request.concurrency, ConcurrencyRequest.range.lowerBound), ConcurrencyRequest.range.upperBound)
        // Checked and applied under one lock: two changes arriving together end as the newer.
        let before: Int? = applied.withLock { applied in
            guard request.version > applied else { return nil }
            applied = request.version
            return inFlight.resize(to: concurrency)
        }
        guard let before, before != concurrency else { return }
        logger.info(
            "concurrency changed by an admin",
            metadata: ["worker_id": "\(workerID)", "from": "\(before)", "to": "\(concurrency)", "in_flight": "\(inFlight.count)"]
        )
    }
}
