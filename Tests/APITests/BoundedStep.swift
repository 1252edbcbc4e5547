import Synchronization

/// A test step that did not end in time: the failure names it and the step last begun, where a
/// hung await would otherwise hold the whole run until the runner's timeout, naming nothing.
struct StepTimedOut: Error, CustomStringConvertible {
    let step: String
    let limit: Duration
    let lastBegun: String

    var description: String { "\(step) did not end within \(limit) (the step last begun: \(lastBegun))" }
}

/// What a long test is doing now, for ``bounded(_:within:progress:_:)`` to name when it times out.
final class TestProgress: Sendable {
    private let step: Mutex<String>

    init(_ step: String) { self.step = Mutex(step) }

    var now: String { step.withLock { $0 } }

    func begin(_ step: String) { self.step.withLock { $0 = step } }
}

/// Runs `body`, and fails with ``StepTimedOut`` if it has not ended within `limit`. The body is
/// then cancelled and left behind (it may never end; the test must).
func bounded<T: Sendable>(
    _ step: String,
    within limit: Duration,
    progress: TestProgress? = nil,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let waiting = Waiting<T>()
    return try await withCheckedThrowingContinuation { continuation in
        waiting.set(continuation)
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            waiting.take()?.resume(with: result)
        }
        Task {
            try? await Task.sleep(for: limit)
            guard let continuation = waiting.take() else { return }
            work.cancel()
            continuation.resume(throwing: StepTimedOut(step: step, limit: limit, lastBegun: progress?.now ?? step))
        }
    }
}

/// The continuation of ``bounded(_:within:progress:_:)``, resumed by whichever ends first.
private final class Waiting<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func set(_ continuation: CheckedContinuation<T, any Error>) { self.continuation.withLock { $0 = continuation } }

    func take() -> CheckedContinuation<T, any Error>? { continuation.withLock { $0.take() } }
}
