import Synchronization

/// How many batches this process handles at once (`BATCH_CONCURRENCY`). A batch reads up to
/// 16 MiB and holds several copies of it while its jobs are checked, so a process taking every
/// batch offered would let a few clients grow its memory without bound; past the bound a batch is
/// refused before its body is read (503 with `Retry-After`), not queued.
final class BatchGate: Sendable {
    let limit: Int
    private let running = Mutex(0)

    init(limit: Int) {
        precondition(limit >= 1, "a batch gate admits at least one batch")
        self.limit = limit
    }

    /// Batches being handled now.
    var count: Int { running.withLock { $0 } }

    /// Runs `body` holding one of the gate's places, freed when `body` returns or throws; throws
    /// ``APIError/batchesBusy`` at once when every place is taken.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        let entered = running.withLock { running in
            guard running < limit else { return false }
            running += 1
            return true
        }
        guard entered else { throw APIError.batchesBusy }
        defer { running.withLock { $0 -= 1 } }
        return try await body()
    }
}
