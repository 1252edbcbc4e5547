import Testing

@testable import Saasctl

/// The memory `submit`'s files in flight share: granted in order, never above the capacity, a
/// request larger than the whole budget run alone.
@Suite struct ByteBudgetTests {
    /// Long enough for a waiter that could go on to have gone on.
    static let settle = Duration.milliseconds(100)

    @Test func reservationsThatFitAreGrantedAtOnce() async throws {
        let budget = ByteBudget(capacity: 100)
        #expect(try await budget.reserve(40) == 40)
        #expect(try await budget.reserve(60) == 60)
        #expect(budget.available == 0)
        budget.release(40)
        budget.release(60)
        #expect(budget.available == 100)
    }

    @Test func aReservationThatDoesNotFitWaitsForARelease() async throws {
        let budget = ByteBudget(capacity: 100)
        let held = try await budget.reserve(70)
        let waiting = Task { try await budget.reserve(50) }
        try await Task.sleep(for: Self.settle)
        #expect(budget.available == 30, "the second reservation waits")
        budget.release(held)
        #expect(try await waiting.value == 50)
        #expect(budget.available == 50)
    }

    @Test func oneLargerThanTheBudgetRunsAlone() async throws {
        let budget = ByteBudget(capacity: 100)
        #expect(budget.charge(for: 500) == 100)
        let small = try await budget.reserve(10)
        let large = Task { try await budget.reserve(500) }
        try await Task.sleep(for: Self.settle)
        #expect(budget.available == 90, "the large one waits for exclusive use")
        budget.release(small)
        let charged = try await large.value
        #expect(charged == 100)
        #expect(budget.available == 0)
        let after = Task { try await budget.reserve(1) }
        try await Task.sleep(for: Self.settle)
        #expect(budget.available == 0, "nothing runs beside it")
        budget.release(charged)
        #expect(try await after.value == 1)
    }

    @Test func theLineIsKeptInOrderSoALargeOneIsNotStarved() async throws {
        let budget = ByteBudget(capacity: 100)
        let held = try await budget.reserve(60)
        let large = Task { try await budget.reserve(80) }
        try await Task.sleep(for: Self.settle)
        let small = Task { try await budget.reserve(10) }
        try await Task.sleep(for: Self.settle)
        #expect(budget.available == 40, "the small one fits but waits behind the large one")
        budget.release(held)
        #expect(try await large.value == 80)
        #expect(try await small.value == 10)
        #expect(budget.available == 10)
    }

    @Test func aCancelledWaiterLeavesTheLine() async throws {
        let budget = ByteBudget(capacity: 100)
        let held = try await budget.reserve(90)
        let cancelled = Task { try await budget.reserve(50) }
        try await Task.sleep(for: Self.settle)
        let behind = Task { try await budget.reserve(10) }
        try await Task.sleep(for: Self.settle)
        #expect(budget.available == 10)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        // With the head gone, the one behind it fits.
        #expect(try await behind.value == 10)
        budget.release(held)
        budget.release(10)
        #expect(budget.available == 100)
    }

    @Test func manyConcurrentHoldersNeverExceedTheCapacity() async throws {
        let budget = ByteBudget(capacity: 1000)
        let meter = Meter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let charged = try await budget.reserve((index * 37) % 1200 + 1)
                    await meter.add(charged)
                    try await Task.sleep(for: .milliseconds(index % 3))
                    await meter.remove(charged)
                    budget.release(charged)
                }
            }
            try await group.waitForAll()
        }
        #expect(await meter.peak <= 1000)
        #expect(await meter.peak > 0)
        #expect(budget.available == 1000)
    }

    /// Bytes held right now, and the most ever held at once.
    actor Meter {
        var now = 0
        var peak = 0

        func add(_ bytes: Int) {
            now += bytes
            peak = max(peak, now)
        }

        func remove(_ bytes: Int) { now -= bytes }
    }
}
