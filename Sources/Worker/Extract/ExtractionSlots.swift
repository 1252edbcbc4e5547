/// At most `limit` extractions at a time in one worker: each extractor may take up to
/// `EXTRACTION_MEMORY_MB`, and a worker runs up to `WORKER_CONCURRENCY` jobs — uploads arriving
/// together must not multiply the one by the other. A waiting job holds its slot of the worker
/// (it is claimed) but nothing else; a cancelled waiter leaves the line.
actor ExtractionSlots {
    private let limit: Int
    private var running = 0
    private var waiting: [(id: Int, resume: CheckedContinuation<Bool, Never>)] = []
    private var nextID = 0

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Runs `body` once a slot is free; throws `CancellationError` when cancelled while waiting.
    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        if running < limit {
            running += 1
            return
        }
        nextID += 1
        let id = nextID
        let granted = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Cancelled before it got in line: the handler below found no one to remove.
                if Task.isCancelled {
                    continuation.resume(returning: false)
                } else {
                    waiting.append((id, continuation))
                }
            }
        } onCancel: {
            Task { await self.leave(id) }
        }
        guard granted else { throw CancellationError() }
    }

    private func leave(_ id: Int) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        waiting.remove(at: index).resume.resume(returning: false)
    }

    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            // The slot passes straight to the first in line.
            waiting.removeFirst().resume.resume(returning: true)
        }
    }
}
