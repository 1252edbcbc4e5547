import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An OS thread that owns one blocking C resource (a hiredis connection, or libpq while it
/// connects) and runs the work submitted to it one item at a time, in order.
///
/// hiredis and libpq block the calling thread on network I/O. Swift concurrency has as many threads
/// as cores (two on our machines) and NIO event loops must never block, so every blocking call runs
/// here instead, and callers see `async` functions (SYSTEM.md, guarantee 9). One thread per
/// connection keeps ownership simple: the C handle is only ever touched by its own thread, which
/// ``assertCurrent()`` checks in debug builds.
public final class DedicatedThread: @unchecked Sendable {
    public typealias Work = @Sendable () -> Void

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Work] = []
    private var head = 0
    private var stopping = false
    private var threadID: pthread_t?
    private let name: String

    /// Starts the thread and returns at once: it does not wait for the thread to be scheduled,
    /// because callers run on the cooperative pool, whose threads must never block (SYSTEM.md,
    /// guarantee 9). Nothing needs the wait: work submitted meanwhile is queued, and the thread
    /// records its own id before it runs any, so ``assertCurrent()`` holds for every item.
    /// `onStart` runs on the new thread before anything else (tests hold the thread there).
    public init(name: String, onStart: (@Sendable () -> Void)? = nil) {
        self.name = name
        let thread = Thread { [self] in
            onStart?()
            self.condition.lock()
            self.threadID = pthread_self()
            self.condition.unlock()
            self.run()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Enqueues `work`; it runs on this thread after everything submitted before it.
    /// Returns false once the thread is stopping (the work is not run).
    @discardableResult
    public func submit(_ work: @escaping Work) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        queue.append(work)
        if queue.count - head == 1 { condition.signal() }
        return true
    }

    /// Stops after the queued work has run. Work submitted later is refused.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// True when called on this thread (false anywhere else, including before the thread started).
    public var isCurrent: Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let threadID else { return false }
        return pthread_equal(threadID, pthread_self()) != 0
    }

    /// Debug-build check that a blocking C call is made on its own thread, never on the cooperative
    /// pool or an event loop.
    @inline(__always)
    public func assertCurrent(file: StaticString = #fileID, line: UInt = #line) {
        assert(isCurrent, "blocking call made off its dedicated thread '\(name)'", file: file, line: line)
    }

    private func run() {
        while true {
            condition.lock()
            while queue.count == head && !stopping {
                condition.wait()
            }
            if queue.count == head && stopping {
                condition.unlock()
                return
            }
            let work = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            work()
        }
    }
}

extension DedicatedThread {
    /// Runs `body` on this thread and returns its result to the awaiting task; the task's own
    /// thread is free meanwhile.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let submitted = submit {
                continuation.resume(with: Result { try body() })
            }
            if !submitted { continuation.resume(throwing: CancellationError()) }
        }
    }
}
