import Foundation
import Logging
import Shared
import Testing

@testable import Worker

@Suite("Claim dispatch")
struct ClaimDispatchTests {
    private struct QueueDown: Error {}

    @Test("jobs already marked in_progress start even when handing back the rejected claims fails (issue 8, item 9)")
    func markedJobsStartWhenHandBackFails() async {
        var rejected = MarkRejections()
        rejected.finished = [Claim(jobID: UUID(), token: UUID())]
        rejected.parked = [Claim(jobID: UUID(), token: UUID())]
        var started: [Int] = []
        var handBackTried = false
        await Claimer.dispatch(
            [1, 2, 3],
            rejected: rejected,
            start: { started.append($0) },
            logger: Logger(label: "test"),
            handBack: { _ in
                handBackTried = true
                throw QueueDown()
            }
        )
        #expect(started == [1, 2, 3])
        #expect(handBackTried)
    }

    @Test("nothing is handed back when nothing was rejected")
    func nothingRejected() async {
        var handBacks = 0
        var started = 0
        await Claimer.dispatch(
            ["a"],
            rejected: MarkRejections(),
            start: { _ in started += 1 },
            logger: Logger(label: "test"),
            handBack: { _ in handBacks += 1 }
        )
        #expect(started == 1 && handBacks == 0)
    }
}

@Suite("Claim dispatch: unreadable jobs")
struct ClaimDispatchUnreadableTests {
    @Test("an unreadable claim alone is still handed back, after the marked jobs started")
    func unreadableHandedBack() async {
        var rejected = MarkRejections()
        let unreadable = Claim(jobID: UUID(), token: UUID())
        rejected.unreadable = [unreadable]
        var handedBack: [Claim] = []
        var started = 0
        await Claimer.dispatch(
            ["a", "b"],
            rejected: rejected,
            start: { _ in started += 1 },
            logger: Logger(label: "test"),
            handBack: { handedBack = $0.unreadable }
        )
        #expect(started == 2)
        #expect(handedBack == [unreadable])
        #expect(Claimer.unreadableDelay >= .seconds(1))
    }
}
