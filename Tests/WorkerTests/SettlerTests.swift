import Foundation
import Logging
import Testing

@testable import Shared
@testable import Worker

/// Settle on the in-memory queue: how each delivery's end reaches the queue after PostgreSQL
/// recorded it.
@Suite("Settle on the in-memory queue")
struct SettlerTests {
    static let completed = Settlement.Outcome.completed(
        result: .string("ok"),
        usage: TokenUsage(promptTokens: 1, completionTokens: 1),
        costUSD: 0,
        charge: 1
    )

    /// Claims `count` jobs and marks them, as the claimer does.
    static func claimed(_ count: Int, queue: MemoryJobQueue, store: MemoryJobStore) async throws -> [Claim] {
        try await queue.enqueue(store.add(count))
        let claims = try await queue.claim(max: count, lease: .seconds(30)).claims
        _ = try await store.markInProgress(claims, workerID: "w-test", lease: .seconds(30))
        return claims
    }

    static func settler(_ store: MemoryJobStore, _ queue: MemoryJobQueue, wakeup: ClaimWakeup = ClaimWakeup()) -> Settler {
        Settler(jobs: store, queue: queue, wakeup: wakeup, logger: Logger(label: "settle-test"))
    }

    @Test("a settled delivery is forgotten by the queue and announced to long polls; a lost one is forgotten unannounced")
    func settledAndLost() async throws {
        let queue = MemoryJobQueue()
        let store = MemoryJobStore()
        let completions = queue.completions()
        let claims = try await Self.claimed(3, queue: queue, store: store)
        let settler = Self.settler(store, queue)
        let lost = Claim(jobID: claims[1].jobID, token: UUID())
        let failed = Settlement.Outcome.failed(code: .invalidRequest, message: "no")
        async let first = settler.settle(Settlement(claim: claims[0], outcome: Self.completed, calls: [], reachedUpstream: true))
        async let second = settler.settle(Settlement(claim: lost, outcome: Self.completed, calls: [], reachedUpstream: true))
        async let third = settler.settle(Settlement(claim: claims[2], outcome: failed, calls: [], reachedUpstream: true))
        #expect(await [first, second, third] == [.settled(.completed), .lost, .settled(.failed)])
        #expect(try await queue.held([claims[0].jobID, claims[2].jobID]).isEmpty)
        // The lost delivery's job belongs to another delivery: the queue keeps it for that one.
        #expect(try await queue.held([claims[1].jobID]) == [claims[1].jobID])
        var announced: Set<UUID> = []
        for await id in completions {
            announced.insert(id)
            if announced.count == 2 { break }
        }
        #expect(announced == [claims[0].jobID, claims[2].jobID])
    }

    @Test("a retry goes back to the queue after its delay, and an idle claimer's wait ends by then")
    func retry() async throws {
        let queue = MemoryJobQueue()
        let store = MemoryJobStore()
        let claim = try #require(try await Self.claimed(1, queue: queue, store: store).first)
        let wakeup = ClaimWakeup()
        let settler = Self.settler(store, queue, wakeup: wakeup)
        let outcome = Settlement.Outcome.retry(delay: .seconds(1), countsAttempt: true, message: "try again")
        #expect(await settler.settle(Settlement(claim: claim, outcome: outcome, calls: [], reachedUpstream: true)) == .requeued)
        let now = try await queue.claim(max: 1, lease: .seconds(30))
        #expect(now.claims.isEmpty)
        #expect(now.nextRetryDue.map { $0 > .zero && $0 <= .seconds(1) } == true)
        // A claimer that starts a 30 s wait now is woken when the retry falls due.
        let started = ContinuousClock.now
        try await wakeup.wait(timeout: .seconds(30)) { timeout in try await queue.waitForWork(timeout: timeout) }
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(await eventually { try await queue.claim(max: 1, lease: .seconds(30)).claims.map(\.jobID) == [claim.jobID] })
        #expect(store.row(claim.jobID)?.attempts == 1)
    }

    @Test("a settlement PostgreSQL could not take is tried again, and reaches the queue once it did")
    func settleFailure() async throws {
        let queue = MemoryJobQueue()
        let store = MemoryJobStore()
        let claim = try #require(try await Self.claimed(1, queue: queue, store: store).first)
        store.failNextSettles(2)
        let result = await Self.settler(store, queue).settle(Settlement(claim: claim, outcome: Self.completed, calls: [], reachedUpstream: true))
        #expect(result == .settled(.completed))
        #expect(store.settleCalls == 3)
        #expect(try await queue.held([claim.jobID]).isEmpty)
    }
}
