import Synchronization

/// What wakes the ``WebhookSender`` between its polls: this worker's settlements (their webhook
/// rows were written in the same transaction, so they are due now), a send that freed its slot,
/// and shutdown. A signal given while nobody waits is kept for the next wait, so none is lost
/// between the sender's look and its sleep.
final class DeliveryWakeup: Sendable {
    /// Why a wait ended.
    enum Reason: Sendable, Hashable {
        /// Deliveries may be due: a settlement, or the poll interval passed.
        case work
        /// A send finished: a slot is free.
        case slotFreed
        case stopped
    }

    private struct State {
        var waiter: CheckedContinuation<Reason, Never>?
        var work = false
        var slotFreed = false
        var stopped = false

        /// The reason a wait may end now, consuming it.
        mutating func take() -> Reason? {
            if stopped { return .stopped }
            if work {
                work = false
                slotFreed = false
                return .work
            }
            if slotFreed {
                slotFreed = false
                return .slotFreed
            }
            return nil
        }
    }

    private let state = Mutex(State())

    /// This worker settled jobs: their deliveries are due.
    func nudge() { signal { $0.work = true } }

    func slotFreed() { signal { $0.slotFreed = true } }

    /// Ends the current and every later wait: the sender stops claiming.
    func stop() { signal { $0.stopped = true } }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Waits for a signal, at most `timeout`; a timeout counts as `.work` (time to poll).
    func wait(timeout: Duration) async -> Reason {
        if let reason = state.withLock({ $0.take() }) { return reason }
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.nudge()
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let reason: Reason? = state.withLock { state in
                    if let reason = state.take() { return reason }
                    state.waiter = continuation
                    return nil
                }
                if let reason { continuation.resume(returning: reason) }
            }
        } onCancel: {
            stop()
        }
    }

    private func signal(_ change: (inout State) -> Void) {
        let resumed: (CheckedContinuation<Reason, Never>, Reason)? = state.withLock { state in
            change(&state)
            guard let waiter = state.waiter, let reason = state.take() else { return nil }
            state.waiter = nil
            return (waiter, reason)
        }
        if let (waiter, reason) = resumed { waiter.resume(returning: reason) }
    }
}
