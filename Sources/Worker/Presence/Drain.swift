import Synchronization

/// An admin's request that this worker drain (``WorkerRegistry/requestDrain(_:)``): learnt by
/// the ``Heartbeat``, obeyed by the ``JobPipeline``, which stops claiming, lets its jobs finish
/// within the grace period and ends — and its end shuts the worker's service group down
/// gracefully, as SIGTERM would.
final class Drain: Sendable {
    private struct State {
        var requested = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Whether an admin asked this worker to drain (its heartbeats say so).
    var isRequested: Bool { state.withLock { $0.requested } }

    /// Records the request; true the first time.
    @discardableResult
    func request() -> Bool {
        let (first, waiters) = state.withLock { state in
            defer {
                state.requested = true
                state.waiters = [:]
            }
            return (!state.requested, Array(state.waiters.values))
        }
        for waiter in waiters { waiter.resume() }
        return first
    }

    /// Runs `operation` until it returns, cancelling it once a drain is requested (at once when
    /// one was) — as `cancelWhenGracefulShutdown` does at graceful shutdown.
    func cancelWhenRequested(_ operation: @escaping @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await operation() }
            group.addTask { await self.requested() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns once a drain is requested, or the task is cancelled.
    private func requested() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if state.requested || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
