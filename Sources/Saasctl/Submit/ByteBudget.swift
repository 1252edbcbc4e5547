import Synchronization

/// The bytes `submit`'s concurrent uploads may hold in memory at once. Each upload reserves what
/// it will hold (its file and the multipart body built from it) before reading the file and gives
/// it back once the submit has an answer, so `--concurrency 64` over large files holds at most
/// ``capacity`` bytes of documents rather than 64 files and their copies.
///
/// Reservations are granted in the order they were asked for: a large one waiting at the head is
/// not passed by a stream of small ones, so it cannot starve. One larger than the whole budget is
/// charged the whole budget: it runs alone instead of never.
final class ByteBudget: Sendable {
    /// 256 MiB: room for one of the largest files (64 MiB, held twice while its body is built)
    /// beside many small ones, whatever `--concurrency` says.
    static let defaultCapacity = 256 << 20

    let capacity: Int

    private struct Waiter {
        var id: UInt64
        var bytes: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    init(capacity: Int = ByteBudget.defaultCapacity) {
        precondition(capacity > 0, "a budget of no bytes admits nothing")
        self.capacity = capacity
        state = Mutex(State(available: capacity))
    }

    /// What a request for `bytes` is charged: at most the whole budget.
    func charge(for bytes: Int) -> Int {
        min(max(bytes, 0), capacity)
    }

    /// Bytes reserved by no one right now.
    var available: Int {
        state.withLock { $0.available }
    }

    /// Waits until `bytes` (charged as ``charge(for:)``) are free and reserves them; returns the
    /// charge, which ``release(_:)`` gives back. Throws `CancellationError` when the task is
    /// cancelled while it waits (nothing is then reserved).
    func reserve(_ bytes: Int) async throws -> Int {
        let charged = charge(for: bytes)
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let granted: Bool? = state.withLock { state in
                    if Task.isCancelled { return nil }
                    if state.waiters.isEmpty && state.available >= charged {
                        state.available -= charged
                        return true
                    }
                    state.waiters.append(Waiter(id: id, bytes: charged, continuation: continuation))
                    return false
                }
                switch granted {
                case nil: continuation.resume(throwing: CancellationError())
                case true?: continuation.resume()
                case false?: break
                }
            }
        } onCancel: {
            let (cancelled, granted) = state.withLock { state -> (Waiter?, [Waiter]) in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return (nil, []) }
                let waiter = state.waiters.remove(at: index)
                // The head may have left: those behind it may fit now.
                return (waiter, Self.grant(&state))
            }
            cancelled?.continuation.resume(throwing: CancellationError())
            for waiter in granted { waiter.continuation.resume() }
        }
        return charged
    }

    /// Gives back a charge ``reserve(_:)`` returned, and wakes the waiters it lets through.
    func release(_ charged: Int) {
        let granted = state.withLock { state in
            state.available = min(state.available + charged, capacity)
            return Self.grant(&state)
        }
        for waiter in granted { waiter.continuation.resume() }
    }

    /// Reserves for the waiters at the head of the line that fit, in order, and returns them to be
    /// resumed outside the lock.
    private static func grant(_ state: inout State) -> [Waiter] {
        var granted: [Waiter] = []
        while let first = state.waiters.first, first.bytes <= state.available {
            state.available -= first.bytes
            granted.append(state.waiters.removeFirst())
        }
        return granted
    }
}
