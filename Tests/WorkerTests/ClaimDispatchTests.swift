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
