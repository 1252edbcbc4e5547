import Foundation
import Synchronization
import Testing

@testable import Shared

@Suite("raceDeadline: whichever finishes first answers, and the loser is cancelled")
struct DeadlineTests {
    /// Waits, at most `bound`, until `condition` holds.
    private func eventually(within bound: Duration, _ condition: () -> Bool) async throws -> Bool {
        let end = ContinuousClock.now + bound
        while !condition() {
            if ContinuousClock.now > end { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    @Test("the work wins: its answer, and the deadline's timer ends at once instead of sleeping out its hour")
    func workWins() async throws {
        let timerEnded = Atomic<Bool>(false)
        let outcome = await raceDeadline(seconds: 3_600, timerEnded: { timerEnded.store(true, ordering: .relaxed) }, { 42 })
        guard case .finished(.success(42)) = outcome else {
            Issue.record("expected the work's answer, got \(outcome)")
            return
        }
        #expect(try await eventually(within: .seconds(10)) { timerEnded.load(ordering: .relaxed) }, "the timer task still sleeps")
    }

    @Test("the deadline wins: timed out on time, and the work is cancelled")
    func deadlineWins() async throws {
        let workCancelled = Atomic<Bool>(false)
        let started = ContinuousClock.now
        let outcome = await raceDeadline(seconds: 0.2) {
            try? await Task.sleep(for: .seconds(3_600))
            workCancelled.store(Task.isCancelled, ordering: .relaxed)
        }
        guard case .timedOut = outcome else {
            Issue.record("expected a timeout, got \(outcome)")
            return
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try await eventually(within: .seconds(10)) { workCancelled.load(ordering: .relaxed) }, "the work was not cancelled")
    }

    @Test("the work's error is its answer")
    func workFails() async {
        struct Refused: Error {}
        let outcome = await raceDeadline(seconds: 3_600) { () async throws -> Int in throw Refused() }
        guard case .finished(.failure(let error)) = outcome else {
            Issue.record("expected the work's error, got \(outcome)")
            return
        }
        #expect(error is Refused)
    }

    /// A race whose work sleeps an hour, against a deadline of 30 s.
    private static func hourOfWork() async -> DeadlineOutcome<Bool> {
        await raceDeadline(seconds: 30) { () async throws -> Bool in
            try await Task.sleep(for: .seconds(3_600))
            return true
        }
    }

    /// The work's own answer to its cancellation; without the cancellation passed on, the race
    /// would have timed out after its 30 s.
    private static func expectWorkCancelled(_ outcome: DeadlineOutcome<Bool>) {
        guard case .finished(.failure(let error)) = outcome else {
            Issue.record("expected the work's cancellation, got \(outcome)")
            return
        }
        #expect(error is CancellationError)
    }

    @Test("the caller is cancelled: the work is cancelled and its answer comes at once, long before the deadline")
    func callerCancelled() async throws {
        let started = ContinuousClock.now
        let caller = Task { await Self.hourOfWork() }
        try await Task.sleep(for: .milliseconds(50))
        caller.cancel()
        Self.expectWorkCancelled(await caller.value)
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("a caller cancelled before it began: the work is cancelled as soon as it starts")
    func callerCancelledBeforehand() async {
        let caller = Task {
            try? await Task.sleep(for: .seconds(3_600))
            return await Self.hourOfWork()
        }
        caller.cancel()
        Self.expectWorkCancelled(await caller.value)
    }
}
