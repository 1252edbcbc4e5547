import Foundation
import ServiceLifecycle
import Shared
import Synchronization

/// The API process's one reader of stream wake-ups: it consumes ``CallStreams/updates()`` (one
/// subscription however many clients stream) and is told of every job the queue announces as
/// ended (through ``CompletionWaiters``), and wakes the open streams that follow that id.
///
/// It also admits the streams: each holds a socket and a task for as long as its client stays,
/// so their number is bounded per team (`STREAMS_PER_TEAM`) and per process (`STREAMS_MAX`);
/// past either a stream is refused (429) before its first byte.
final class StreamRelay: Service, Sendable {
    struct Limits: Sendable {
        var perProcess: Int
        var perTeam: Int
    }

    private struct State {
        var next = 0
        var byID: [UUID: [Int: StreamWaiter]] = [:]
        var total = 0
        var byTeam: [String: Int] = [:]
    }

    private let streams: any CallStreams
    let limits: Limits
    private let state = Mutex(State())

    init(streams: any CallStreams, limits: Limits) {
        self.streams = streams
        self.limits = limits
    }

    /// Wakes the readers of each stream that got entries, until shutdown.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await update in self.streams.updates() { self.wake(update) }
        }
    }

    /// The queue announced `jobID` as ended: its readers look for their final event.
    func jobEnded(_ jobID: UUID) {
        let waiters = state.withLock { state in state.byID[jobID].map { Array($0.values) } ?? [] }
        for waiter in waiters { waiter.notify(ended: true) }
    }

    /// Admits one stream of `teamID` following `id`, or throws the 429 of the bound it meets.
    /// The slot is given back when it is closed or no longer referenced.
    func open(_ id: UUID, teamID: String) throws(APIError) -> StreamSlot {
        let admitted: Result<StreamWaiter, APIError> = state.withLock { state in
            if state.byTeam[teamID, default: 0] >= limits.perTeam { return .failure(.teamStreamsFull(limit: limits.perTeam)) }
            if state.total >= limits.perProcess { return .failure(.streamsFull) }
            state.total += 1
            state.byTeam[teamID, default: 0] += 1
            state.next += 1
            let waiter = StreamWaiter(id: id, key: state.next, teamID: teamID, relay: self)
            state.byID[id, default: [:]][state.next] = waiter
            return .success(waiter)
        }
        return StreamSlot(try admitted.get())
    }

    /// Streams open now (in total, and of one team).
    func open(teamID: String? = nil) -> Int {
        state.withLock { state in teamID.map { state.byTeam[$0] ?? 0 } ?? state.total }
    }

    fileprivate func close(_ waiter: StreamWaiter) {
        state.withLock { state in
            guard state.byID[waiter.id]?.removeValue(forKey: waiter.key) != nil else { return }
            if state.byID[waiter.id]?.isEmpty == true { state.byID[waiter.id] = nil }
            state.total -= 1
            let left = (state.byTeam[waiter.teamID] ?? 1) - 1
            state.byTeam[waiter.teamID] = left > 0 ? left : nil
        }
    }

    private func wake(_ update: CallStreamUpdate) {
        let waiters = state.withLock { state in state.byID[update.streamID].map { Array($0.values) } ?? [] }
        for waiter in waiters { waiter.notify(update) }
    }
}

/// An admitted stream's hold on its slot and its wake-ups: the stream's reader owns it, and
/// closing it — or dropping it, however the stream ended — gives the slot back.
final class StreamSlot: Sendable {
    private let waiter: StreamWaiter

    fileprivate init(_ waiter: StreamWaiter) {
        self.waiter = waiter
    }

    deinit {
        waiter.close()
    }

    /// Gives the slot back (again is harmless).
    func close() { waiter.close() }
    /// The wake-ups since the last call, cleared.
    func take() -> StreamWaiter.Wakeups { waiter.take() }
    /// See ``StreamWaiter/wait(timeout:)``.
    @discardableResult
    func wait(timeout: Duration) async -> Bool { await waiter.wait(timeout: timeout) }
}

/// The relay's side of one open stream: wake-ups are remembered until taken, so one that comes
/// while its reader is busy reading is not lost.
final class StreamWaiter: Sendable {
    /// What happened since the last ``take()``.
    struct Wakeups: Sendable, Equatable {
        /// The stream got entries.
        var entries = false
        /// The job was announced as ended.
        var ended = false
        /// The wake-ups' own entries, in order, while they are few (past
        /// ``StreamWaiter/maxUpdates`` they are dropped and the reader reads the stream).
        var updates: [CallStreamUpdate] = []

        var any: Bool { entries || ended }
    }

    /// Wake-ups with entries kept for a reader that is busy: a slow reader reads the stream instead.
    static let maxUpdates = 64

    private struct State {
        var pending = Wakeups()
        var continuation: CheckedContinuation<Void, Never>?
    }

    let id: UUID
    fileprivate let key: Int
    fileprivate let teamID: String
    private let relay: StreamRelay
    private let state = Mutex(State())

    fileprivate init(id: UUID, key: Int, teamID: String, relay: StreamRelay) {
        self.id = id
        self.key = key
        self.teamID = teamID
        self.relay = relay
    }

    /// Gives the slot back (again is harmless).
    func close() {
        relay.close(self)
    }

    fileprivate func notify(ended: Bool) {
        let continuation = state.withLock { state in
            if ended { state.pending.ended = true } else { state.pending.entries = true }
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }

    fileprivate func notify(_ update: CallStreamUpdate) {
        let continuation = state.withLock { state in
            let first = !state.pending.entries
            state.pending.entries = true
            // Kept only as one unbroken run from the first wake-up since the last take.
            if first || !state.pending.updates.isEmpty, state.pending.updates.count < Self.maxUpdates, update.previousID != nil {
                state.pending.updates.append(update)
            } else {
                state.pending.updates.removeAll()
            }
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }

    /// The wake-ups since the last call, cleared.
    func take() -> Wakeups {
        state.withLock { state in
            defer { state.pending = Wakeups() }
            return state.pending
        }
    }

    /// Returns at once when a wake-up is pending, else at the next one, after `timeout`, or when
    /// the task is cancelled. Says whether a wake-up (not the clock) ended the wait.
    @discardableResult
    func wait(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitForWakeup() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private func waitForWakeup() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Checked under the lock the handler below takes: a cancellation that came before
                // the continuation was stored (it found none to resume) is seen here instead.
                let pending = state.withLock { state in
                    if state.pending.any || Task.isCancelled { return true }
                    state.continuation = continuation
                    return false
                }
                if pending { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state in
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume()
        }
        return state.withLock { $0.pending.any }
    }
}
