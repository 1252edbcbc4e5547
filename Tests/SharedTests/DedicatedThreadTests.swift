import DedicatedThreads
import Foundation
import Testing

@testable import Shared

@Suite("DedicatedThread")
struct DedicatedThreadTests {
    /// Issue 8, item 21: creating a connection's thread must not park the caller — on the
    /// cooperative pool (two threads here) a wait for the new thread to be scheduled is a blocked
    /// cooperative thread. The new thread is held at its start: `init` must return anyway.
    @Test("init returns without waiting for the new thread to start")
    func initDoesNotWait() async throws {
        let gate = DispatchSemaphore(value: 0)
        let returned = DispatchSemaphore(value: 0)
        let box = ThreadBox()
        // A plain thread, not the cooperative pool: if init waits, it is this thread that hangs.
        Thread {
            box.thread = DedicatedThread(name: "init-test", onStart: { gate.wait() })
            returned.signal()
        }.start()
        let returnedInTime = returned.wait(timeout: .now() + 2) == .success
        gate.signal()
        if !returnedInTime { _ = returned.wait(timeout: .now() + 5) }
        #expect(returnedInTime, "DedicatedThread.init waited for its thread to start")
        let thread = try #require(box.thread)
        defer { thread.stop() }
        // Ownership still holds once the thread runs: work sees itself on it, callers do not.
        #expect(!thread.isCurrent)
        let onItsThread = try await thread.run { [thread] in thread.isCurrent }
        #expect(onItsThread)
    }

    @Test("work submitted before the thread started runs, in order")
    func workBeforeStart() async throws {
        let gate = DispatchSemaphore(value: 0)
        let thread = DedicatedThread(name: "order-test", onStart: { gate.wait() })
        defer { thread.stop() }
        let order = OrderBox()
        // Sleeps generous enough that, even on a loaded machine, the first submission is queued
        // before the second and both before the thread starts.
        let first = Task { try await thread.run { order.append(1) } }
        try await Task.sleep(for: .milliseconds(300))
        let second = Task { try await thread.run { order.append(2) } }
        try await Task.sleep(for: .milliseconds(300))
        gate.signal()
        try await first.value
        try await second.value
        #expect(order.values == [1, 2])
    }
}

private final class ThreadBox: @unchecked Sendable {
    var thread: DedicatedThread?
}

private final class OrderBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Int] = []
    func append(_ value: Int) { lock.withLock { storage.append(value) } }
    var values: [Int] { lock.withLock { storage } }
}
