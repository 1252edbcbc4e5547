import Synchronization
import Testing

@testable import Worker

private final class Tally: Sendable {
    let state = Mutex((running: 0, most: 0, done: 0))
}

@Suite("ExtractionSlots: at most N extractions at once per worker")
struct ExtractionSlotsTests {
    @Test("never more than the limit at once; every waiter runs in turn")
    func bounded() async throws {
        let slots = ExtractionSlots(limit: 2)
        let tally = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await slots.run {
                        tally.state.withLock {
                            $0.running += 1
                            $0.most = max($0.most, $0.running)
                        }
                        try await Task.sleep(for: .milliseconds(20))
                        tally.state.withLock {
                            $0.running -= 1
                            $0.done += 1
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(tally.state.withLock { $0.most } == 2)
        #expect(tally.state.withLock { $0.done } == 8)
    }

    @Test("a waiter cancelled in line leaves it without running, and the slot still passes on")
    func cancelledWaiter() async throws {
        let slots = ExtractionSlots(limit: 1)
        let ran = Tally()
        let hold = Tally()
        // Holds its slot until the test lets go, however slow the machine.
        let holder = Task {
            try await slots.run {
                while hold.state.withLock({ $0.done }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
        }
        try await Task.sleep(for: .milliseconds(30))
        let waiter = Task { try await slots.run { ran.state.withLock { $0.done += 1 } } }
        try await Task.sleep(for: .milliseconds(30))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        hold.state.withLock { $0.done = 1 }
        try await holder.value
        try await slots.run { ran.state.withLock { $0.done += 10 } }
        #expect(ran.state.withLock { $0.done } == 10)
    }
}
