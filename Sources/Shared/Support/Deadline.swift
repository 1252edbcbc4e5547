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
/// time. The work is cancelled when the deadline wins.
public func raceDeadline<T: Sendable>(
    seconds: Double,
    _ work: @escaping @Sendable () async throws -> T
) async -> DeadlineOutcome<T> {
    let once = Once()
    return await withCheckedContinuation { (continuation: CheckedContinuation<DeadlineOutcome<T>, Never>) in
        let worker = Task {
            let result = await Result(catching: { try await work() })
            if once.claim() {
                continuation.resume(returning: .finished(result))
            }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            if once.claim() {
                worker.cancel()
                continuation.resume(returning: .timedOut)
            }
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// Lets exactly one of several racers win.
private final class Once: Sendable {
    private let taken = Mutex(false)

    func claim() -> Bool {
        taken.withLock { taken in
            defer { taken = true }
            return !taken
        }
    }
}
