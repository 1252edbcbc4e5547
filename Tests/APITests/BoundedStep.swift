import Foundation
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
            guard waiting.isWaiting else { return }
            // What every thread was doing while the step hung, before anything is cancelled.
            let dump = await ThreadDump.capture()
            guard let continuation = waiting.take() else { return }
            print("==== \(step): no end within \(limit); every thread of the test process:\n\(dump)\n==== end of the thread dump")
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

    var isWaiting: Bool { continuation.withLock { $0 != nil } }
}

/// Every thread's stack of this process, through `gdb` — what a step that hung was waiting for.
/// A hang of the live app seen three times in full runs (session 12's note) could not be
/// reproduced alone; the next one says where each thread was. The test process (and the app it
/// runs) is stopped while gdb reads it, for a second or two; gdb runs on a thread of its own so
/// that no pool thread waits for it.
enum ThreadDump {
    static func capture() async -> String {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: run()) }
        }
    }

    private static func run() -> String {
        let gdb = "/usr/bin/gdb"
        guard FileManager.default.isExecutableFile(atPath: gdb) else { return "(no \(gdb) here)" }
        let pid = getpid()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("thread-dump-\(pid)-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        // gdb writes to a file, not a pipe this (stopped) process would have to drain; it is
        // killed after a minute, and the shell then wakes the process whatever became of gdb.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            "timeout -s KILL 60 \(gdb) -p \(pid) -batch -nx -ex 'set pagination off' -ex 'thread apply all bt 40' > '\(file.path)' 2>&1; kill -CONT \(pid)",
        ]
        do { try process.run() } catch { return "(gdb did not start: \(error))" }
        process.waitUntilExit()
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? "(no output from gdb)"
        // The stacks, not gdb's chatter about loading symbols; bounded, for the run's log.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("Thread ") || $0.hasPrefix("#") }
        return lines.isEmpty ? String(text.suffix(2_000)) : String(lines.joined(separator: "\n").prefix(400_000))
    }
}
