import Foundation
import Logging
import Synchronization
import Testing

@testable import Shared
@testable import Worker

/// Lease on the in-memory queue: renewals keep running jobs leased, and the jobs this worker
/// should no longer run are stopped.
@Suite("Lease on the in-memory queue")
struct LeaseKeeperTests {
    /// Claims `count` jobs from a fresh queue and marks them in the store, as the claimer does.
    static func claimed(_ count: Int, queue: MemoryJobQueue, store: MemoryJobStore, lease: Duration) async throws -> [Claim] {
        try await queue.enqueue(store.add(count))
        let claims = try await queue.claim(max: count, lease: lease).claims
        _ = try await store.markInProgress(claims, workerID: "w-test", lease: lease)
        return claims
    }

    /// Starts a job that runs until cancelled; `stopped` learns when it was.
    static func runUntilCancelled(_ claim: Claim, in inFlight: InFlight, stopped: IDSet) {
        inFlight.start(claim) {
            try? await Task.sleep(for: .seconds(600))
            if Task.isCancelled { stopped.insert(claim.jobID) }
        }
    }

    @Test("renewals keep running jobs' leases in the queue; without them the leases expire")
    func renewals() async throws {
        // The queue's time is the test's: each step is shorter than a lease, and taken only after
        // a renewal, so a loaded machine's slow renewal cannot expire a lease.
        let clock = ManualClock()
        let queue = MemoryJobQueue(clock: { clock.now })
        let store = MemoryJobStore()
        let lease = Duration.milliseconds(300)
        let inFlight = InFlight(capacity: 4)
        let claims = try await Self.claimed(2, queue: queue, store: store, lease: lease)
        let stopped = IDSet()
        for claim in claims { Self.runUntilCancelled(claim, in: inFlight, stopped: stopped) }
        let keeper = LeaseKeeper(jobs: store, queue: queue, inFlight: inFlight, lease: lease, logger: Logger(label: "lease-test"))
        let renewing = Task { await keeper.renewLoop() }
        // Five steps of ⅔ of a lease: held throughout, never offered to another worker.
        for _ in 0..<5 {
            let calls = store.renewCalls
            // Two renewals since the last step: one of them renewed the queue after it.
            #expect(await eventually { store.renewCalls >= calls + 2 })
            clock.advance(by: 0.2)
            #expect(try await queue.expiredLeases(olderThan: .zero, offset: 0, limit: 10).isEmpty)
            #expect(try await queue.enqueue(claims.map { QueuedJob(jobID: $0.jobID, teamID: "team", priority: 0) }) == 0)
        }
        #expect(stopped.ids.isEmpty)
        renewing.cancel()
        await renewing.value
        clock.advance(by: 0.4)
        #expect(try await queue.expiredLeases(olderThan: .zero, offset: 0, limit: 10).count == 2)
        inFlight.cancelAll()
        #expect(await inFlight.waitUntilEmpty(timeout: .seconds(5)))
    }

    @Test("a job PostgreSQL says to stop (cancelled, or delivered elsewhere) is stopped at the next renewal")
    func stopOnRenewal() async throws {
        let queue = MemoryJobQueue()
        let store = MemoryJobStore()
        let lease = Duration.milliseconds(300)
        let inFlight = InFlight(capacity: 4)
        let claims = try await Self.claimed(2, queue: queue, store: store, lease: lease)
        let stopped = IDSet()
        for claim in claims { Self.runUntilCancelled(claim, in: inFlight, stopped: stopped) }
        store.stopOnRenewal(claims[0].jobID)
        let keeper = LeaseKeeper(jobs: store, queue: queue, inFlight: inFlight, lease: lease, logger: Logger(label: "lease-test"))
        let renewing = Task { await keeper.renewLoop() }
        defer { renewing.cancel() }
        #expect(await eventually { stopped.ids == [claims[0].jobID] })
        try await Task.sleep(for: .milliseconds(300))
        #expect(stopped.ids == [claims[0].jobID])
        inFlight.cancelAll()
        #expect(await inFlight.waitUntilEmpty(timeout: .seconds(5)))
    }
}

/// Job ids, collected from many tasks.
final class IDSet: Sendable {
    private let state = Mutex<Set<UUID>>([])

    func insert(_ id: UUID) { state.withLock { _ = $0.insert(id) } }
    var ids: Set<UUID> { state.withLock { $0 } }
}

/// A wall clock the test moves.
final class ManualClock: Sendable {
    private let state = Mutex(Date())

    var now: Date { state.withLock { $0 } }
    func advance(by seconds: TimeInterval) { state.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
