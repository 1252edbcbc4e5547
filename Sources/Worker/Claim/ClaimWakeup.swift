import Synchronization

/// Lets the settle step wake an idle claimer early. An idle worker blocks in Redis until a team
/// has ready jobs or the earliest retry falls due — but a retry scheduled *after* it started
/// waiting is not known to that wait. When this worker schedules one sooner than the wait
/// would end, the wait is cut short (`CLIENT UNBLOCK`) and the claimer looks again at the
/// right time.
final class ClaimWakeup: Sendable {
    private struct Waiting {
        var task: Task<Void, any Error>
        var until: ContinuousClock.Instant
    }

    private let waiting = Mutex<Waiting?>(nil)

    /// Runs `wait` (a blocking Redis call ending by `until`), interruptible by ``retryScheduled(in:)``.
    func wait(until: ContinuousClock.Instant, _ wait: @escaping @Sendable () async throws -> Void) async throws {
        let task = Task { try await wait() }
        waiting.withLock { $0 = Waiting(task: task, until: until) }
        defer { waiting.withLock { $0 = nil } }
        try await withTaskCancellationHandler {
            do {
                try await task.value
            } catch is CancellationError {
                // Cut short by a nudge (or the shutdown, which the caller checks).
            }
        } onCancel: {
            task.cancel()
        }
    }

    /// A retry falls due after `delay`: wake the claimer if it would sleep past that.
    func retryScheduled(in delay: Duration) {
        let due = ContinuousClock.now + delay
        let task: Task<Void, any Error>? = waiting.withLock { waiting in
            guard let current = waiting, current.until > due + .milliseconds(20) else { return nil }
            return current.task
        }
        guard let task else { return }
        Task {
            // Let the retry fall due first, then wake the claimer.
            try? await Task.sleep(until: due, clock: .continuous)
            task.cancel()
        }
    }
}
