import Synchronization

/// Groups work from concurrent callers: each caller hands in one item and awaits its result;
/// items that arrive while a batch is running go together in the next one. There is no timer —
/// under light load a batch is one item and runs at once; under heavy load batches grow to
/// `maxBatch`. This is how many submits or settlements share one PostgreSQL commit.
public final class Batcher<Item: Sendable, Output: Sendable>: Sendable {
    public typealias Process = @Sendable ([Item]) async throws -> [Output]

    private struct Pending {
        var item: Item
        var continuation: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var running = 0
    }

    private enum Admission {
        case queued
        case queuedAndStart
        case refused
    }

    private let state = Mutex(State())
    private let maxBatch: Int
    private let maxConcurrentBatches: Int
    private let maxPending: Int?
    private let priority: TaskPriority?
    private let process: Process

    /// - Parameters:
    ///   - maxBatch: the most items in one batch.
    ///   - maxConcurrentBatches: batches in flight at once (each holds a database connection).
    ///   - maxPending: the most items waiting for a batch; past it ``submit(_:)`` throws
    ///     ``BatcherOverloaded`` at once instead of growing the line (and everyone's latency)
    ///     without bound. nil: unbounded, for callers whose items must never be refused.
    ///   - priority: the priority batches run at (nil: the first caller's). A batch whose
    ///     transaction locks a row every batch writes (a team's account) holds that lock across
    ///     its round trips; at a higher priority its resumptions run on threads of their own
    ///     instead of queueing behind the requests the process is answering, which shortens the
    ///     hold every later batch waits for.
    ///   - process: runs a batch; returns one output per item, in order.
    public init(maxBatch: Int, maxConcurrentBatches: Int, maxPending: Int? = nil, priority: TaskPriority? = nil, process: @escaping Process) {
        self.maxBatch = maxBatch
        self.maxConcurrentBatches = maxConcurrentBatches
        self.maxPending = maxPending
        self.priority = priority
        self.process = process
    }

    /// Hands in one item and waits for its output. Throws ``BatcherOverloaded`` when
    /// `maxPending` items are already waiting (the item is not processed).
    public func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let admission: Admission = state.withLock { state in
                if let maxPending, state.pending.count >= maxPending { return .refused }
                state.pending.append(Pending(item: item, continuation: continuation))
                guard state.running < maxConcurrentBatches else { return .queued }
                state.running += 1
                return .queuedAndStart
            }
            switch admission {
            case .queued:
                break
            case .queuedAndStart:
                Task(priority: priority) { await self.drain() }
            case .refused:
                continuation.resume(throwing: BatcherOverloaded(maxPending: maxPending ?? 0))
            }
        }
    }

    private func drain() async {
        while true {
            let batch: [Pending] = state.withLock { state in
                guard !state.pending.isEmpty else {
                    state.running -= 1
                    return []
                }
                let count = min(maxBatch, state.pending.count)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }
            do {
                let outputs = try await process(batch.map(\.item))
                precondition(outputs.count == batch.count, "a batch must answer every item")
                for (pending, output) in zip(batch, outputs) { pending.continuation.resume(returning: output) }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }
}

/// A ``Batcher``'s line of waiting items is full: the item was refused, not processed. Callers
/// answer "busy, retry shortly" (the API: 503 with `Retry-After`).
public struct BatcherOverloaded: Error, Sendable, Equatable {
    public var maxPending: Int

    public init(maxPending: Int) {
        self.maxPending = maxPending
    }
}
