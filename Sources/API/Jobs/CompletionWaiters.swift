import Foundation
import ServiceLifecycle
import Shared
import Synchronization

/// Long polls (`GET /api/jobs/{id}?wait=`): a poller waits here until the queue announces the
/// job's completion (``JobQueue/completions()``), or its deadline passes. No sleeping loop.
///
/// Each wait holds a task, a socket and a signal for up to a minute, so their number is bounded
/// per process and per team (`LONG_POLLS_MAX`, `LONG_POLLS_PER_TEAM`): past either a poll is
/// refused with ``LongPollRefused`` (a 429 with `Retry-After`) rather than held — one team's
/// thousands of pollers cannot take every slot.
final class CompletionWaiters: Service, Sendable {
    struct Limits: Sendable {
        var perProcess: Int
        var perTeam: Int
    }

    private struct State {
        var next = 0
        var byJob: [UUID: [(id: Int, signal: Signal)]] = [:]
        var total = 0
        var byTeam: [String: Int] = [:]
    }

    private let queue: any JobQueue
    private let limits: Limits
    private let waiters = Mutex(State())
    /// Told of every completion too: the stream relay, whose open streams end with their job.
    private let alsoTell: (@Sendable (UUID) -> Void)?
    /// Tells a wait that its client has gone, so that it gives its slot back at once.
    private let departures: ClientDepartures?

    init(
        queue: any JobQueue,
        limits: Limits = .init(perProcess: 10_000, perTeam: 1_000),
        departures: ClientDepartures? = nil,
        alsoTell: (@Sendable (UUID) -> Void)? = nil
    ) {
        self.queue = queue
        self.limits = limits
        self.departures = departures
        self.alsoTell = alsoTell
    }

    /// Wakes the waiters of each completion the queue announces, until shutdown (which ends the
    /// subscription with the loop).
    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await id in self.queue.completions() {
                self.wake(id)
                self.alsoTell?(id)
            }
        }
    }

    /// Waits until `jobID` (of `teamID`) is announced, `timeout` passes or the server begins to
    /// stop. The waiter is registered before `isDone` is asked, so a completion between the
    /// caller's read and the wait is not missed. Throws ``LongPollRefused`` at once when a bound
    /// is reached.
    ///
    /// A stopping server answers its long polls at once, with what the caller then reads (a
    /// `202` for a call still running, the job as it is): a wait may be 600 s long, and the
    /// server's graceful shutdown waits for every request in flight. So does a poll whose client
    /// has gone from `connection` (``ClientDepartures``): its answer is written to nobody, and its
    /// slot is free again.
    func wait(
        for jobID: UUID,
        teamID: String,
        timeout: Duration,
        connection: ObjectIdentifier? = nil,
        isDone: @Sendable () async throws -> Bool
    ) async throws {
        let signal = Signal()
        let admitted: Result<Int, LongPollRefused> = waiters.withLock { state in
            if state.byTeam[teamID, default: 0] >= limits.perTeam { return .failure(.team) }
            if state.total >= limits.perProcess { return .failure(.process) }
            state.total += 1
            state.byTeam[teamID, default: 0] += 1
            state.next += 1
            state.byJob[jobID, default: []].append((state.next, signal))
            return .success(state.next)
        }
        let id = try admitted.get()
        defer { remove(jobID, id, teamID: teamID) }
        let watch = connection.flatMap { connection in
            departures?.watch(connection) { signal.fire() }.map { (connection, $0) }
        }
        defer { if let (connection, token) = watch { departures?.unwatch(connection, token: token) } }
        if try await isDone() { return }
        await withGracefulShutdownHandler {
            _ = await raceDeadline(seconds: Double(timeout.milliseconds) / 1000) { await signal.wait() }
        } onGracefulShutdown: {
            signal.fire()
        }
    }

    /// Long polls waiting now (in total, and of one team).
    func waiting(teamID: String? = nil) -> Int {
        waiters.withLock { state in teamID.map { state.byTeam[$0] ?? 0 } ?? state.total }
    }

    private func wake(_ jobID: UUID) {
        let woken = waiters.withLock { $0.byJob.removeValue(forKey: jobID) } ?? []
        for waiter in woken { waiter.signal.fire() }
    }

    private func remove(_ jobID: UUID, _ id: Int, teamID: String) {
        let removed = waiters.withLock { state -> Signal? in
            state.total -= 1
            let left = (state.byTeam[teamID] ?? 1) - 1
            state.byTeam[teamID] = left > 0 ? left : nil
            guard let index = state.byJob[jobID]?.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = state.byJob[jobID]!.remove(at: index)
            if state.byJob[jobID]!.isEmpty { state.byJob[jobID] = nil }
            return waiter.signal
        }
        removed?.fire()
    }
}

/// A one-shot wake-up: `wait` returns once `fire` was called (before or after), or when the
/// waiting task is cancelled.
final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))

    func fire() {
        let continuation = state.withLock { state in
            state.fired = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }

    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let fired = state.withLock { state in
                    if state.fired { return true }
                    state.continuation = continuation
                    return false
                }
                if fired { continuation.resume() }
            }
        } onCancel: {
            fire()
        }
    }
}

/// A long poll refused because too many are waiting: in this process, or of this team.
enum LongPollRefused: Error, Sendable, Equatable {
    case process
    case team
}
