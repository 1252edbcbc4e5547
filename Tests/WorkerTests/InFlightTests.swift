import Foundation
import Shared
import Testing

@testable import Worker

@Suite("In-flight jobs")
struct InFlightTests {
    @Test("a cancel that arrives before the job's task starts is not lost (issue 8, item 19)")
    func earlyCancel() async throws {
        let inFlight = InFlight(capacity: 4)
        let claim = Claim(jobID: UUID(), token: UUID())
        // The cancel arrives between the claim and the start (pub/sub reaches the worker first).
        inFlight.cancel(claim.jobID)
        let sawCancel = AsyncStream.makeStream(of: Bool.self)
        inFlight.start(claim) {
            try? await Task.sleep(for: .seconds(5))
            sawCancel.continuation.yield(Task.isCancelled)
            sawCancel.continuation.finish()
        }
        var iterator = sawCancel.stream.makeAsyncIterator()
        #expect(await iterator.next() == true)
        #expect(await inFlight.waitUntilEmpty(timeout: .seconds(5)))
    }

    @Test("cancels of jobs that never start here are remembered only for a while, and only so many")
    func earlyCancelsAreBounded() async throws {
        let inFlight = InFlight(capacity: 1)
        for _ in 0..<(InFlight.earlyCancelLimit + 50) { inFlight.cancel(UUID()) }
        // A job started afterwards with no cancel of its own runs normally.
        let claim = Claim(jobID: UUID(), token: UUID())
        let done = AsyncStream.makeStream(of: Bool.self)
        inFlight.start(claim) {
            done.continuation.yield(Task.isCancelled)
            done.continuation.finish()
        }
        var iterator = done.stream.makeAsyncIterator()
        #expect(await iterator.next() == false)
    }
}
