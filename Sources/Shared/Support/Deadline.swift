import Synchronization

/// The outcome of work raced against a deadline.
public enum DeadlineOutcome<T: Sendable>: Sendable {
    case finished(Result<T, any Error>)
    case timedOut
}

/// Runs `work` and answers as soon as it finishes or `seconds` pass, whichever comes first.
///
/// Unlike a task group, this does not wait for the losing side: a probe stuck in a blocking C call
/// (a dead database during `/ready`) keeps its dedicated thread busy, but the caller is answered on
/// time. The work is cancelled when the deadline wins, or when the caller is cancelled (it then
/// answers with what the work does on cancellation); the deadline's timer is cancelled when the
/// work wins, so a long poll answered early leaves no task sleeping out its 600 s.
public func raceDeadline<T: Sendable>(
    seconds: Double,
    _ work: @escaping @Sendable () async throws -> T
) async -> DeadlineOutcome<T> {
    await raceDeadline(seconds: seconds, timerEnded: nil, work)
}

/// `timerEnded` is told when the deadline's timer task ends, whoever won (for tests).
func raceDeadline<T: Sendable>(
    seconds: Double,
    timerEnded: (@Sendable () -> Void)?,
    _ work: @escaping @Sendable () async throws -> T
) async -> DeadlineOutcome<T> {
    let race = Race()
    return await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<DeadlineOutcome<T>, Never>) in
            let worker = Task {
                let result = await Result(catching: { try await work() })
                if race.claim() {
                    continuation.resume(returning: .finished(result))
                    race.cancelTimer()
                }
            }
            race.hold(worker: worker)
            race.hold(
                timer: Task {
                    defer { timerEnded?() }
                    try? await Task.sleep(for: .seconds(seconds))
                    if race.claim() {
                        worker.cancel()
                        continuation.resume(returning: .timedOut)
                    }
                }
            )
        }
    } onCancel: {
        race.cancelWorker()
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// Lets exactly one of the two racers win, keeps the timer for the work to cancel, and the work
/// for a cancelled caller to cancel.
private final class Race: Sendable {
    private struct State {
        var decided = false
        var callerCancelled = false
        var timer: Task<Void, Never>?
        var worker: Task<Void, Never>?
    }

    private let state = Mutex(State())

    func claim() -> Bool {
        state.withLock { state in
            defer { state.decided = true }
            return !state.decided
        }
    }

    /// Keeps the timer; cancels it at once if the race is already decided (the work won before
    /// the timer was kept — or the timer itself won, which a cancel no longer changes).
    func hold(timer: Task<Void, Never>) {
        let decided = state.withLock { state in
            state.timer = timer
            return state.decided
        }
        if decided { timer.cancel() }
    }

    /// Keeps the work; cancels it at once if the caller was cancelled before it was kept.
    func hold(worker: Task<Void, Never>) {
        let cancelled = state.withLock { state in
            state.worker = worker
            return state.callerCancelled
        }
        if cancelled { worker.cancel() }
    }

    func cancelTimer() {
        state.withLock { $0.timer }?.cancel()
    }

    func cancelWorker() {
        let worker = state.withLock { state in
            state.callerCancelled = true
            return state.worker
        }
        worker?.cancel()
    }
}
