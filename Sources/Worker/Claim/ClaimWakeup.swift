import Synchronization

/// Lets the settle step — and a resume of the fleet's claiming (``wakeNow()``) — wake an idle
/// claimer early. An idle worker waits on the queue until a team
/// has ready jobs or the earliest retry falls due — but a retry scheduled *after* its claim looked
/// is not known to that wait. When this worker schedules one sooner than the wait would end, the
/// wait is cut short (its task cancelled: Redis's `CLIENT UNBLOCK`); when no wait is running yet,
/// the due time is kept and the next wait ends by then.
final class ClaimWakeup: Sendable {
    private struct State {
        var task: Task<Void, any Error>?
        var until: ContinuousClock.Instant?
        /// A retry due before the claimer's next wait would end.
        var pendingDue: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    /// Waits (`wait`, the queue's wait given its timeout) for at most `timeout`, ending earlier
    /// when a retry falls due first.
    func wait(timeout: Duration, _ wait: @escaping @Sendable (Duration) async throws -> Void) async throws {
        let now = ContinuousClock.now
        let until: ContinuousClock.Instant? = state.withLock { state in
            var until = now + timeout
            if let due = state.pendingDue {
                until = min(until, due)
                state.pendingDue = nil
            }
            guard until > now + .milliseconds(5) else { return nil }
            state.until = until
            return until
        }
        guard let until else { return }
        let task = Task { try await wait(until - now) }
        // A retry scheduled between the reservation above and now was kept as pending.
        let pending: ContinuousClock.Instant? = state.withLock { state in
            state.task = task
            defer { state.pendingDue = nil }
            return state.pendingDue
        }
        if let pending, pending + .milliseconds(20) < until { Self.cancel(task, at: pending) }
        defer {
            state.withLock {
                $0.task = nil
                $0.until = nil
            }
        }
        try await withTaskCancellationHandler {
            do {
                try await task.value
            } catch is CancellationError {
                // Cut short by a due retry (or the shutdown, which the caller checks).
            }
        } onCancel: {
            task.cancel()
        }
    }

    private static func cancel(_ task: Task<Void, any Error>, at due: ContinuousClock.Instant) {
        Task {
            // Let the retry fall due first, then wake the claimer.
            try? await Task.sleep(until: due, clock: .continuous)
            task.cancel()
        }
    }

    /// Something changed that a waiting claimer should look at now (a resume of the fleet's
    /// claiming, more slots): its wait ends at once, or the next one does not begin.
    func wakeNow() {
        retryScheduled(in: .zero)
    }

    /// A retry falls due after `delay`: make sure the claimer looks again by then.
    func retryScheduled(in delay: Duration) {
        let due = ContinuousClock.now + delay
        let task: Task<Void, any Error>? = state.withLock { state in
            if let until = state.until, let task = state.task {
                return until > due + .milliseconds(20) ? task : nil
            }
            state.pendingDue = min(state.pendingDue ?? due, due)
            return nil
        }
        if let task { Self.cancel(task, at: due) }
    }
}
