import Foundation
import Shared
import Synchronization

/// The jobs this worker is running: their claims (for lease renewal), their tasks (to cancel one
/// when its job is cancelled or its lease is lost), and the slots left (claims never exceed
/// the concurrency: configured at start, changed by an admin while the worker runs —
/// ``resize(to:)``).
final class InFlight: Sendable {
    private struct Entry {
        var claim: Claim
        var task: Task<Void, Never>?
        var cancelRequested = false
    }

    private struct State {
        var entries: [UUID: Entry] = [:]
        /// Cancels that arrived for jobs not (yet) running here, with when they arrived: a cancel
        /// published between the claim and the start of the job's task would otherwise be lost.
        var earlyCancels: [UUID: ContinuousClock.Instant] = [:]
        var slotWaiters: [(id: UInt64, needed: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter: UInt64 = 0
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
        var started = 0
        var capacity: Int

        /// Whether a waiter for `needed` slots may go: as many free, or every slot free when
        /// it wants more than there are.
        func fits(_ needed: Int) -> Bool {
            capacity - entries.count >= min(needed, capacity)
        }
    }

    private let state: Mutex<State>
    /// How long an early cancel is remembered, and how many at most: cancels of jobs running on
    /// other workers arrive here too (pub/sub reaches every worker), so the set is kept small.
    static let earlyCancelMemory: Duration = .seconds(30)
    static let earlyCancelLimit = 10_000

    /// `saas_worker_slots`, set wherever the count changes.
    private let slots: SlotGauges

    init(capacity: Int, slots: SlotGauges = SlotGauges()) {
        self.state = Mutex(State(capacity: capacity))
        self.slots = slots
        slots.record(running: 0, capacity: capacity)
    }

    /// Jobs run at once at most, now.
    var capacity: Int { state.withLock { $0.capacity } }
    var count: Int { state.withLock { $0.entries.count } }
    var free: Int { state.withLock { max(0, $0.capacity - $0.entries.count) } }
    var claims: [Claim] { state.withLock { $0.entries.values.map(\.claim) } }
    /// Jobs started since the worker began.
    var started: Int { state.withLock { $0.started } }

    /// Waits until `slots` slots are free, or the task is cancelled (claiming stops). Claiming in
    /// groups when the worker is nearly full keeps the claim-and-mark cycle (one Redis script,
    /// one PostgreSQL transaction) far from being the bottleneck.
    func waitForSlots(_ slots: Int) async {
        let needed = max(1, slots)
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state in
                    if state.fits(needed) || Task.isCancelled { return true }
                    state.slotWaiters.append((id, needed, continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.slotWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.slotWaiters.remove(at: index).continuation
            }
            waiter?.resume()
        }
    }

    /// Runs `work` for a claimed job in a task of its own, tracked until it ends.
    func start(_ claim: Claim, _ work: @escaping @Sendable () async -> Void) {
        let cancelledEarly = state.withLock { state -> Bool in
            let early = state.earlyCancels.removeValue(forKey: claim.jobID).map { ContinuousClock.now - $0 < Self.earlyCancelMemory } ?? false
            state.entries[claim.jobID] = Entry(claim: claim, cancelRequested: early)
            state.started += 1
            slots.record(running: state.entries.count, capacity: state.capacity)
            return early
        }
        let task = Task {
            await work()
            self.finish(claim.jobID)
        }
        let cancelNow = state.withLock { state -> Bool in
            guard state.entries[claim.jobID] != nil else { return false }
            state.entries[claim.jobID]?.task = task
            return state.entries[claim.jobID]?.cancelRequested ?? false
        }
        if cancelNow || cancelledEarly { task.cancel() }
    }

    /// Changes how many jobs run at once, without stopping any: growing lets waiting claims go
    /// at once; shrinking below the jobs running lets them finish, and no slot frees until fewer
    /// run than the new capacity. Returns the capacity before.
    @discardableResult
    func resize(to newCapacity: Int) -> Int {
        let (before, waiters) = state.withLock { state -> (Int, [CheckedContinuation<Void, Never>]) in
            let before = state.capacity
            state.capacity = max(1, newCapacity)
            slots.record(running: state.entries.count, capacity: state.capacity)
            var ready: [CheckedContinuation<Void, Never>] = []
            while let first = state.slotWaiters.first, state.fits(first.needed) {
                ready.append(state.slotWaiters.removeFirst().continuation)
            }
            return (before, ready)
        }
        for waiter in waiters { waiter.resume() }
        return before
    }

    /// Stops one job's call (cancelled by its owner, or its lease lost).
    func cancel(_ jobID: UUID) {
        let task: Task<Void, Never>? = state.withLock { state in
            guard state.entries[jobID] != nil else {
                Self.remember(jobID, in: &state)
                return nil
            }
            state.entries[jobID]?.cancelRequested = true
            return state.entries[jobID]?.task
        }
        task?.cancel()
    }

    private static func remember(_ jobID: UUID, in state: inout State) {
        let now = ContinuousClock.now
        if state.earlyCancels.count >= earlyCancelLimit {
            state.earlyCancels = state.earlyCancels.filter { now - $0.value < earlyCancelMemory }
            if state.earlyCancels.count >= earlyCancelLimit, let oldest = state.earlyCancels.min(by: { $0.value < $1.value }) {
                state.earlyCancels[oldest.key] = nil
            }
        }
        state.earlyCancels[jobID] = now
    }

    func cancelAll() {
        let tasks = state.withLock { state in
            for id in state.entries.keys { state.entries[id]?.cancelRequested = true }
            return state.entries.values.compactMap(\.task)
        }
        for task in tasks { task.cancel() }
    }

    /// Waits until no job is running, or `timeout` passes; true when empty.
    @discardableResult
    func waitUntilEmpty(timeout: Duration) async -> Bool {
        let outcome = await raceDeadline(seconds: Double(timeout.milliseconds) / 1000) {
            await withCheckedContinuation { continuation in
                let empty = self.state.withLock { state in
                    if state.entries.isEmpty { return true }
                    state.emptyWaiters.append(continuation)
                    return false
                }
                if empty { continuation.resume() }
            }
        }
        if case .finished = outcome { return true }
        return count == 0
    }

    private func finish(_ jobID: UUID) {
        let (slotWaiter, emptyWaiters): (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) = state.withLock { state in
            state.entries[jobID] = nil
            slots.record(running: state.entries.count, capacity: state.capacity)
            var slot: CheckedContinuation<Void, Never>?
            if let first = state.slotWaiters.first, state.fits(first.needed) {
                slot = state.slotWaiters.removeFirst().continuation
            }
            var empty: [CheckedContinuation<Void, Never>] = []
            if state.entries.isEmpty {
                empty = state.emptyWaiters
                state.emptyWaiters = []
            }
            return (slot, empty)
        }
        slotWaiter?.resume()
        for waiter in emptyWaiters { waiter.resume() }
    }
}
